using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace HilBench.Bnn.Export;

/// <summary>
/// Writes NumPy <c>.npy</c> format version 1.0 arrays: little-endian, C order (fortran_order False),
/// header padded with spaces so that the data starts on a 64-byte boundary, as numpy itself does.
/// </summary>
internal static class NpyWriter
{
    private static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0];

    /// <summary>The magic, version, header length and header dictionary for an array of <paramref name="descr"/> and <paramref name="shape"/>.</summary>
    public static byte[] Header(string descr, ReadOnlySpan<int> shape)
    {
        var dict = new StringBuilder("{'descr': '").Append(descr).Append("', 'fortran_order': False, 'shape': (");
        for (int i = 0; i < shape.Length; i++)
        {
            if (shape[i] < 0) throw new ArgumentOutOfRangeException(nameof(shape), "array dimensions must not be negative");
            if (i > 0) dict.Append(", ");
            dict.Append(shape[i].ToString(CultureInfo.InvariantCulture));
        }
        if (shape.Length == 1) dict.Append(',');
        dict.Append("), }");
        int unpadded = Magic.Length + 2 + dict.Length + 1;
        dict.Append(' ', (64 - unpadded % 64) % 64).Append('\n');
        if (dict.Length > ushort.MaxValue) throw new ArgumentException("npy header too long for format version 1.0");
        var bytes = new byte[Magic.Length + 2 + dict.Length];
        Magic.CopyTo(bytes);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(Magic.Length), (ushort)dict.Length);
        Encoding.ASCII.GetBytes(dict.ToString(), bytes.AsSpan(Magic.Length + 2));
        return bytes;
    }

    public static void WriteFloat32(Stream stream, ReadOnlySpan<int> shape, ReadOnlySpan<float> values)
    {
        CheckCount(shape, values.Length);
        stream.Write(Header("<f4", shape));
        var bytes = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
        stream.Write(bytes);
    }

    public static void WriteInt32(Stream stream, ReadOnlySpan<int> shape, ReadOnlySpan<int> values)
    {
        CheckCount(shape, values.Length);
        stream.Write(Header("<i4", shape));
        var bytes = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(i * 4), values[i]);
        stream.Write(bytes);
    }

    public static void WriteUInt8(Stream stream, ReadOnlySpan<byte> values)
    {
        stream.Write(Header("|u1", [values.Length]));
        stream.Write(values);
    }

    /// <summary>A 0-d unicode array ('&lt;U{n}', UTF-32LE), which numpy loads without pickling. The text must not end in U+0000.</summary>
    public static void WriteUnicodeScalar(Stream stream, string text)
    {
        var utf32 = new UTF32Encoding(bigEndian: false, byteOrderMark: false, throwOnInvalidCharacters: true).GetBytes(text);
        int codePoints = Math.Max(1, utf32.Length / 4);
        stream.Write(Header($"<U{codePoints}", []));
        stream.Write(utf32);
        if (utf32.Length == 0) stream.Write(stackalloc byte[4]);
    }

    private static void CheckCount(ReadOnlySpan<int> shape, int count)
    {
        long expected = 1;
        foreach (int d in shape) expected *= d;
        if (expected != count) throw new ArgumentException($"shape holds {expected} values but {count} were given");
    }
}
