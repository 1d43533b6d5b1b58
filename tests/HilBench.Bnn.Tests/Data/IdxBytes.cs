using System.Buffers.Binary;
using System.IO.Compression;

namespace HilBench.Bnn.Tests.Data;

/// <summary>
/// Builds IDX file bytes by hand, so tests can produce the malformed files that
/// IdxFile.Write rightly refuses to write.
/// </summary>
internal static class IdxBytes
{
    public static byte[] Raw(byte type, int[] dimensions, byte[] data)
    {
        var bytes = new byte[4 + 4 * dimensions.Length + data.Length];
        bytes[2] = type;
        bytes[3] = (byte)dimensions.Length;
        for (int i = 0; i < dimensions.Length; i++)
        {
            BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * i), dimensions[i]);
        }

        data.CopyTo(bytes, 4 + 4 * dimensions.Length);
        return bytes;
    }

    public static byte[] UnsignedBytes(int[] dimensions, byte[] data) => Raw(0x08, dimensions, data);

    public static byte[] Gzip(byte[] bytes)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest))
        {
            gzip.Write(bytes);
        }

        return buffer.ToArray();
    }

    /// <summary>Deterministic, non-constant bytes so that a shifted or reordered read shows up.</summary>
    public static byte[] Pattern(int length, int seed = 0)
    {
        var data = new byte[length];
        for (int i = 0; i < length; i++)
        {
            data[i] = (byte)((i * 31) + seed);
        }

        return data;
    }
}
