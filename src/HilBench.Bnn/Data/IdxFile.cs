using System.Buffers.Binary;
using System.IO.Compression;

namespace HilBench.Bnn.Data;

/// <summary>
/// Contents of an IDX file (the MNIST / Fashion-MNIST container): dimensions and
/// unsigned-byte data in row-major order. Only element type 0x08 (unsigned byte)
/// is supported, because image and label files of these data sets use nothing else.
/// </summary>
public sealed class IdxFile
{
    private const byte UnsignedByteType = 0x08;
    private const int MaxDimensions = 4;

    private IdxFile(int[] dimensions, byte[] data)
    {
        Dimensions = Array.AsReadOnly(dimensions);
        Data = data;
    }

    public IReadOnlyList<int> Dimensions { get; }

    /// <summary>Unsigned byte data, row-major, exactly the product of <see cref="Dimensions"/> long.</summary>
    public byte[] Data { get; }

    /// <summary>
    /// Reads a raw or gzipped IDX file. Compression is recognised by the gzip magic
    /// bytes rather than the name, because mirrors disagree about the ".gz" suffix.
    /// </summary>
    /// <exception cref="DatasetException">The file cannot be opened or is not a valid unsigned-byte IDX file.</exception>
    public static IdxFile Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        FileStream file;
        try
        {
            // The large buffer cuts system calls when GZipStream pulls its small chunks.
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new DatasetException($"{path}: cannot open the file ({ex.Message}); check the path and its permissions", ex);
        }

        using (file)
        {
            return Read(file, path);
        }
    }

    /// <summary>
    /// Reads a raw or gzipped IDX file from <paramref name="stream"/>, which is left open
    /// and need not be seekable. <paramref name="sourceName"/> is only used in error messages.
    /// </summary>
    /// <exception cref="DatasetException">The data is not a valid unsigned-byte IDX file.</exception>
    public static IdxFile Read(Stream stream, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(sourceName);
        try
        {
            return ReadSniffed(stream, sourceName);
        }
        catch (InvalidDataException ex)
        {
            throw new DatasetException($"{sourceName}: corrupt gzip data ({ex.Message}); re-download or re-copy the file", ex);
        }
        catch (IOException ex)
        {
            throw new DatasetException($"{sourceName}: read failed ({ex.Message}); check the disk, then re-copy the file", ex);
        }
    }

    /// <summary>Writes an unsigned-byte IDX file, gzipped or raw, through a temporary file renamed over <paramref name="path"/> (see <see cref="AtomicFile"/>).</summary>
    /// <exception cref="ArgumentException">The dimensions are not 1 to 4 positive sizes whose product is the data length.</exception>
    public static void Write(string path, IReadOnlyList<int> dimensions, ReadOnlySpan<byte> data, bool gzip)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(dimensions);
        if (dimensions.Count is < 1 or > MaxDimensions || dimensions.Any(d => d <= 0))
        {
            throw new ArgumentException($"an IDX file needs 1 to {MaxDimensions} positive dimensions, not [{string.Join(", ", dimensions)}]", nameof(dimensions));
        }

        long expected = dimensions.Aggregate(1L, (product, d) => product * d);
        if (expected != data.Length)
        {
            throw new ArgumentException($"dimensions {Describe(dimensions)} need {expected} bytes of data, not {data.Length}", nameof(data));
        }

        Span<byte> header = stackalloc byte[4 + 4 * MaxDimensions];
        header = header[..(4 + 4 * dimensions.Count)];
        header[..2].Clear();
        header[2] = UnsignedByteType;
        header[3] = (byte)dimensions.Count;
        for (int i = 0; i < dimensions.Count; i++)
        {
            BinaryPrimitives.WriteInt32BigEndian(header[(4 + 4 * i)..], dimensions[i]);
        }

        using var file = AtomicFile.Create(path);
        using (var zipped = gzip ? new GZipStream(file.Stream, CompressionLevel.Optimal, leaveOpen: true) : null)
        {
            Stream output = (Stream?)zipped ?? file.Stream;
            output.Write(header);
            output.Write(data);
        }
        file.Commit();
    }

    private static IdxFile ReadSniffed(Stream stream, string source)
    {
        var sniffed = new byte[2];
        int sniffedLength = stream.ReadAtLeast(sniffed, sniffed.Length, throwOnEndOfStream: false);
        if (sniffedLength == 0)
        {
            throw new DatasetException($"{source}: the file is empty; re-download or re-copy the file");
        }

        bool gzip = sniffedLength == 2 && sniffed[0] == 0x1f && sniffed[1] == 0x8b;
        var whole = new PrefixedStream(sniffed.AsMemory(0, sniffedLength), stream);
        using Stream content = gzip ? new GZipStream(whole, CompressionMode.Decompress, leaveOpen: true) : whole;
        return ReadIdx(content, new Source(source, gzip));
    }

    private static IdxFile ReadIdx(Stream content, Source source)
    {
        Span<byte> header = stackalloc byte[4 + 4 * MaxDimensions];
        ReadHeader(content, header[..4], source);

        if (header[0] != 0 || header[1] != 0)
        {
            throw source.Error($"not an IDX file: it starts with 0x{header[0]:X2} 0x{header[1]:X2} but IDX files start with two zero bytes; check that the path names an IDX file (raw or gzipped)");
        }

        if (header[2] != UnsignedByteType)
        {
            throw source.Error($"unsupported IDX element type 0x{header[2]:X2} ({ElementTypeName(header[2])}); only 0x08 (unsigned byte) is supported; convert the data to unsigned bytes");
        }

        int rank = header[3];
        if (rank is < 1 or > MaxDimensions)
        {
            throw source.Error($"the header declares {rank} dimensions but only 1 to {MaxDimensions} are supported; the header is damaged or this is not an image or label file");
        }

        var dimensionBytes = header.Slice(4, 4 * rank);
        ReadHeader(content, dimensionBytes, source);
        var dimensions = new int[rank];
        long length = 1;
        for (int i = 0; i < rank; i++)
        {
            dimensions[i] = BinaryPrimitives.ReadInt32BigEndian(dimensionBytes[(4 * i)..]);
            if (dimensions[i] <= 0)
            {
                throw source.Error($"dimension {i + 1} of {rank} is {dimensions[i]} but IDX dimensions must be positive; the header is damaged, re-download or re-copy the file");
            }

            // Checked per factor so that four large dimensions cannot overflow the long.
            length *= dimensions[i];
            if (length > Array.MaxLength)
            {
                throw source.Error($"the header declares {Describe(dimensions.Take(i + 1))}... elements, more than one array can hold; the header is damaged, re-download or re-copy the file");
            }
        }

        var data = new byte[length];
        int read = content.ReadAtLeast(data, data.Length, throwOnEndOfStream: false);
        if (read < data.Length)
        {
            throw source.Error($"truncated: header says {Describe(dimensions)} = {length} bytes of data but {source.Holder} holds {read} bytes; re-download or re-copy the file");
        }

        long trailing = CountRemainingBytes(content);
        if (trailing > 0)
        {
            throw source.Error($"trailing data: header says {Describe(dimensions)} = {length} bytes of data but {source.Holder} holds {trailing} more bytes after them; the file is damaged or its header is wrong, re-download or re-copy the file");
        }

        return new IdxFile(dimensions, data);
    }

    private static void ReadHeader(Stream content, Span<byte> buffer, Source source)
    {
        int read = content.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        if (read < buffer.Length)
        {
            throw source.Error($"truncated header: {source.Holder} ends inside the IDX header; re-download or re-copy the file");
        }
    }

    private static long CountRemainingBytes(Stream content)
    {
        Span<byte> scratch = stackalloc byte[4096];
        long total = 0;
        int read;
        while ((read = content.Read(scratch)) > 0)
        {
            total += read;
        }

        return total;
    }

    private static string ElementTypeName(byte type) => type switch
    {
        0x09 => "signed byte",
        0x0B => "int16",
        0x0C => "int32",
        0x0D => "float32",
        0x0E => "float64",
        _ => "not an IDX element type",
    };

    private static string Describe(IEnumerable<int> dimensions) => string.Join("x", dimensions);

    /// <summary>Where the bytes come from, so every error can name the file and what was measured.</summary>
    private readonly record struct Source(string Name, bool Gzip)
    {
        public string Holder => Gzip ? "the decompressed file" : "the file";

        public DatasetException Error(string problem) => new($"{Name}: {problem}");
    }
}
