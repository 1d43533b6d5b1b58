using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;
using NUnit.Framework;

namespace HilBench.Bnn.Tests.Export;

/// <summary>One array parsed back from a .npy file, independently of the exporter's writer.</summary>
internal sealed record NpyArray(string Descr, bool FortranOrder, int[] Shape, byte[] Data, int DataOffset)
{
    public long Count => Shape.Aggregate(1L, (a, b) => a * b);

    public float[] Float32()
    {
        Assert.That(Descr, Is.EqualTo("<f4"));
        var v = new float[Count];
        for (int i = 0; i < v.Length; i++) v[i] = BinaryPrimitives.ReadSingleLittleEndian(Data.AsSpan(i * 4));
        return v;
    }

    public int[] Int32()
    {
        Assert.That(Descr, Is.EqualTo("<i4"));
        var v = new int[Count];
        for (int i = 0; i < v.Length; i++) v[i] = BinaryPrimitives.ReadInt32LittleEndian(Data.AsSpan(i * 4));
        return v;
    }

    /// <summary>Decodes a '&lt;U{n}' array (UTF-32LE) the way numpy does, dropping trailing NULs.</summary>
    public string Unicode() => Encoding.UTF32.GetString(Data).TrimEnd('\0');
}

internal static partial class NpyTestReader
{
    [GeneratedRegex(@"^\{'descr': '(?<descr>[^']+)', 'fortran_order': (?<fortran>True|False), 'shape': \((?<shape>[0-9, ]*)\), \} *\n$")]
    private static partial Regex HeaderPattern();

    public static Dictionary<string, NpyArray> ReadNpz(byte[] npz)
    {
        var result = new Dictionary<string, NpyArray>(StringComparer.Ordinal);
        using var zip = new ZipArchive(new MemoryStream(npz), ZipArchiveMode.Read);
        foreach (var entry in zip.Entries)
        {
            Assert.That(entry.FullName, Does.EndWith(".npy"));
            using var s = entry.Open();
            using var ms = new MemoryStream();
            s.CopyTo(ms);
            result.Add(entry.FullName[..^4], Parse(ms.ToArray()));
        }
        return result;
    }

    public static NpyArray Parse(byte[] bytes)
    {
        Assert.That(bytes[..6], Is.EqualTo(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y' }), "npy magic");
        Assert.That(bytes[6], Is.EqualTo(1), "npy major version");
        Assert.That(bytes[7], Is.EqualTo(0), "npy minor version");
        int headerLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8));
        int dataOffset = 10 + headerLength;
        Assert.That(dataOffset % 64, Is.Zero, "data is 64-byte aligned");
        string header = Encoding.ASCII.GetString(bytes, 10, headerLength);
        var m = HeaderPattern().Match(header);
        Assert.That(m.Success, Is.True, $"header dictionary: {header}");
        var shape = m.Groups["shape"].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(d => int.Parse(d, CultureInfo.InvariantCulture)).ToArray();
        if (shape.Length == 1) Assert.That(m.Groups["shape"].Value, Does.EndWith(","), "1-tuples need a trailing comma");
        string descr = m.Groups["descr"].Value;
        int itemSize = descr switch
        {
            "<f4" or "<i4" => 4,
            "|u1" => 1,
            _ when descr.StartsWith("<U", StringComparison.Ordinal) => 4 * int.Parse(descr[2..], CultureInfo.InvariantCulture),
            _ => throw new AssertionException($"unexpected dtype {descr}"),
        };
        var data = bytes[dataOffset..];
        long count = shape.Aggregate(1L, (a, b) => a * b);
        Assert.That(data.LongLength, Is.EqualTo(count * itemSize), $"data size for {descr} {string.Join("x", shape)}");
        return new NpyArray(descr, m.Groups["fortran"].Value == "True", shape, data, dataOffset);
    }
}
