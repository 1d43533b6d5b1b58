using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using HilBench.Bnn.Layers;
using HilBench.Bnn.Tensors;

namespace HilBench.Bnn.Model;

/// <summary>
/// Reads and writes the <c>.hbnn</c> model file: a versioned, little-endian, deterministic binary format
/// ending in a SHA-256 checksum. The byte layout is documented in <c>docs/model-format.md</c>.
/// Loading never trusts a length read from the file: every size is bounded before anything is allocated,
/// and every problem is reported as a <see cref="ModelFileException"/> naming the file, the problem and the fix.
/// </summary>
public static class ModelFile
{
    /// <summary>The format version this build writes and the only one it reads.</summary>
    public const uint FormatVersion = 1;

    /// <summary>The usual file name extension.</summary>
    public const string Extension = ".hbnn";

    // Layout and limits of version 1 (docs/model-format.md).
    internal const int HeaderLength = 48;
    internal const int MaxHeaderLength = 4096;
    internal const int ChecksumLength = 32;
    internal const int LayerRecordHeader = 16;
    internal const int MaxDimension = 1 << 24;
    internal const long MaxShapeSize = 1L << 28;
    internal const int MaxStringBytes = 1 << 20;
    internal const int MaxLayers = 1 << 16;
    internal const int MaxEntries = 1 << 16;

    internal const uint KindDense = 1;
    internal const uint KindConv3x3 = 2;
    internal const uint KindMaxPool2x2 = 3;
    internal const uint KindThreshold = 4;

    /// <summary>"HBNN\r\n\x1a\n": the CR LF, Ctrl-Z and LF bytes are damaged by text-mode transfers, like PNG's signature.</summary>
    internal static ReadOnlySpan<byte> Magic => [0x48, 0x42, 0x4E, 0x4E, 0x0D, 0x0A, 0x1A, 0x0A];

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    // ------------------------------------------------------------------ saving

    /// <summary>
    /// Writes the model to <paramref name="path"/>: first to <c>path + ".tmp"</c>, flushed to disk, then renamed
    /// over <paramref name="path"/>, so readers never see a half-written model.
    /// </summary>
    /// <exception cref="ArgumentException">The model cannot be represented (e.g. a metadata string above 1 MiB).</exception>
    public static void Save(BnnModel model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(path);
        var plan = Plan(model);
        using var file = AtomicFile.Create(path);
        Write(model, plan, file.Stream);
        file.Commit();
    }

    /// <summary>Writes the model to a stream (which is left open).</summary>
    /// <exception cref="ArgumentException">The model cannot be represented (e.g. a metadata string above 1 MiB).</exception>
    public static void Save(BnnModel model, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(stream);
        Write(model, Plan(model), stream);
    }

    /// <summary>The metadata strings, encoded and sorted, plus the total file length.</summary>
    private sealed record SavePlan(byte[] Dataset, (byte[] Key, byte[] Value)[] Training, (byte[] Key, byte[] Value)[] Extra, long Length);

    /// <summary>Checks that the model fits the format's limits (so that every saved file loads) and measures it.</summary>
    private static SavePlan Plan(BnnModel model)
    {
        CheckShapeForSave(model.InputShape, "the input shape");
        if (model.Layers.Count > MaxLayers)
            throw new ArgumentException($"the model has {model.Layers.Count} layers; a model file holds at most {MaxLayers}");
        long length = HeaderLength;
        for (int i = 0; i < model.Layers.Count; i++)
        {
            var layer = model.Layers[i];
            CheckShapeForSave(layer.InputShape, $"the input shape of layer {i} ({layer.Kind})");
            length += LayerRecordHeader;
            switch (layer)
            {
                case BinaryDense or BinaryConv2d:
                    var w = ((WeightLayer)layer).Weights;
                    if (w.Rows > MaxDimension || w.Columns > MaxDimension)
                        throw new ArgumentException($"layer {i} ({layer.Kind}) has {w.Rows}x{w.Columns} weights; a model file allows at most {MaxDimension} rows and columns");
                    if (!w.PaddingIsZero())
                        throw new ArgumentException($"layer {i} ({layer.Kind}) has non-zero padding bits after column {w.Columns}; BitMatrix rows must be zero-padded");
                    length += 8 + w.Words.LongLength * 8;
                    break;
                case ThresholdLayer t:
                    length += 5L * t.Thresholds.Length; // one per channel, as its constructor checks
                    break;
                case MaxPool2d:
                    break;
                default:
                    throw new ArgumentException($"layer {i} has kind '{layer.Kind}' ({layer.GetType().Name}), which format version {FormatVersion} cannot store");
            }
        }
        var dataset = EncodeForSave(model.Metadata.Dataset ?? "", "the dataset name");
        var training = EncodeEntries(model.Metadata.Training, "training");
        var extra = EncodeEntries(model.Metadata.Extra, "extra");
        length += 4 + dataset.Length;
        foreach (var (k, v) in training.Concat(extra)) length += 8 + k.Length + v.Length;
        length += 8 + ChecksumLength;
        if (length > Array.MaxLength)
            throw new ArgumentException($"the model file would be {length} bytes; the format allows at most {Array.MaxLength}");
        return new SavePlan(dataset, training, extra, length);
    }

    private static void CheckShapeForSave(TensorShape s, string what)
    {
        if (s.Height is < 1 or > MaxDimension || s.Width is < 1 or > MaxDimension || s.Channels is < 1 or > MaxDimension
            || (long)s.Height * s.Width * s.Channels > MaxShapeSize)
            throw new ArgumentException($"{what} {s.Height}x{s.Width}x{s.Channels} is outside the model file's limits (1..{MaxDimension} per dimension, at most {MaxShapeSize} values)");
    }

    private static byte[] EncodeForSave(string s, string what)
    {
        byte[] bytes;
        try { bytes = StrictUtf8.GetBytes(s); }
        catch (EncoderFallbackException e) { throw new ArgumentException($"{what} is not valid Unicode (it contains a lone surrogate) and cannot be stored as UTF-8", e); }
        if (bytes.Length > MaxStringBytes)
            throw new ArgumentException($"{what} is {bytes.Length} bytes of UTF-8; a model file allows at most {MaxStringBytes} bytes per string");
        return bytes;
    }

    private static (byte[] Key, byte[] Value)[] EncodeEntries(IReadOnlyDictionary<string, string>? entries, string section)
    {
        if (entries is null) return [];
        if (entries.Count > MaxEntries)
            throw new ArgumentException($"the {section} metadata has {entries.Count} entries; a model file allows at most {MaxEntries}");
        return entries
            .OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => (EncodeForSave(kv.Key, $"{section} metadata key '{kv.Key}'"), EncodeForSave(kv.Value ?? "", $"the value of {section} metadata key '{kv.Key}'")))
            .ToArray();
    }

    private static void Write(BnnModel model, SavePlan plan, Stream stream)
    {
        using var sink = new HashingSink(stream);
        sink.Bytes(Magic);
        sink.U32(FormatVersion);
        sink.U32(HeaderLength);
        sink.U64((ulong)plan.Length);
        sink.Shape(model.InputShape);
        sink.F32(model.LogitScale);
        sink.U32((uint)model.Layers.Count);
        sink.U32(0); // reserved
        foreach (var layer in model.Layers)
        {
            switch (layer)
            {
                case BinaryDense or BinaryConv2d:
                    var w = ((WeightLayer)layer).Weights;
                    sink.U32(layer is BinaryDense ? KindDense : KindConv3x3);
                    sink.Shape(layer.InputShape);
                    sink.I32(w.Rows);
                    sink.I32(w.Columns);
                    sink.Words(w.Words);
                    break;
                case ThresholdLayer t:
                    sink.U32(KindThreshold);
                    sink.Shape(t.InputShape);
                    foreach (int v in t.Thresholds) sink.I32(v);
                    foreach (bool a in t.Ascending) sink.U8(a ? (byte)1 : (byte)0);
                    break;
                default: // MaxPool2d (Plan refused anything else)
                    sink.U32(KindMaxPool2x2);
                    sink.Shape(layer.InputShape);
                    break;
            }
        }
        sink.String(plan.Dataset);
        sink.Entries(plan.Training);
        sink.Entries(plan.Extra);
        if (sink.Written + ChecksumLength != plan.Length)
            throw new InvalidOperationException($"internal error: wrote {sink.Written + ChecksumLength} bytes but planned {plan.Length}");
        stream.Write(sink.Finish());
    }

    /// <summary>Buffers little-endian values, hashing and writing them in chunks.</summary>
    private sealed class HashingSink(Stream stream) : IDisposable
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private readonly byte[] _buffer = new byte[1 << 16];
        private int _used;

        public long Written { get; private set; }

        private Span<byte> Take(int n)
        {
            if (_used + n > _buffer.Length) Flush();
            var span = _buffer.AsSpan(_used, n);
            _used += n;
            Written += n;
            return span;
        }

        public void U8(byte v) => Take(1)[0] = v;
        public void U32(uint v) => BinaryPrimitives.WriteUInt32LittleEndian(Take(4), v);
        public void I32(int v) => BinaryPrimitives.WriteInt32LittleEndian(Take(4), v);
        public void U64(ulong v) => BinaryPrimitives.WriteUInt64LittleEndian(Take(8), v);
        public void F32(float v) => BinaryPrimitives.WriteSingleLittleEndian(Take(4), v);

        public void Shape(TensorShape s)
        {
            I32(s.Height);
            I32(s.Width);
            I32(s.Channels);
        }

        public void Words(ulong[] words)
        {
            foreach (ulong w in words) U64(w);
        }

        public void Bytes(ReadOnlySpan<byte> bytes)
        {
            while (!bytes.IsEmpty)
            {
                if (_used == _buffer.Length) Flush();
                int n = Math.Min(bytes.Length, _buffer.Length - _used);
                bytes[..n].CopyTo(_buffer.AsSpan(_used));
                _used += n;
                Written += n;
                bytes = bytes[n..];
            }
        }

        public void String(byte[] utf8)
        {
            U32((uint)utf8.Length);
            Bytes(utf8);
        }

        public void Entries((byte[] Key, byte[] Value)[] entries)
        {
            U32((uint)entries.Length);
            foreach (var (k, v) in entries)
            {
                String(k);
                String(v);
            }
        }

        private void Flush()
        {
            _hash.AppendData(_buffer, 0, _used);
            stream.Write(_buffer, 0, _used);
            _used = 0;
        }

        /// <summary>Writes what is buffered and returns the SHA-256 of everything written.</summary>
        public byte[] Finish()
        {
            Flush();
            return _hash.GetHashAndReset();
        }

        public void Dispose() => _hash.Dispose();
    }

    // ------------------------------------------------------------------ loading

    /// <summary>Loads a model file.</summary>
    /// <exception cref="ModelFileException">The file is missing, unreadable, or not a valid version 1 model.</exception>
    public static BnnModel Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] data;
        try
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
            data = ReadAll(fs, path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ModelFileException(Message(path, "the file does not exist", "Check the path."), e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new ModelFileException(Message(path, "access to the file was denied", "Check its permissions."), e);
        }
        catch (IOException e)
        {
            throw new ModelFileException(Message(path, $"the file could not be read ({e.Message})", "Check that it is a readable regular file."), e);
        }
        return Parse(data, path);
    }

    /// <summary>Loads a model from the rest of a stream; <paramref name="sourceName"/> names it in error messages.</summary>
    /// <exception cref="ModelFileException">The data is not a valid version 1 model, or the stream could not be read.</exception>
    public static BnnModel Load(Stream stream, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (string.IsNullOrEmpty(sourceName)) sourceName = "<stream>";
        byte[] data;
        try
        {
            data = ReadAll(stream, sourceName);
        }
        catch (IOException e)
        {
            throw new ModelFileException(Message(sourceName, $"the data could not be read ({e.Message})", "Check the source."), e);
        }
        return Parse(data, sourceName);
    }

    private static byte[] ReadAll(Stream stream, string source)
    {
        if (stream.CanSeek)
        {
            long remaining = stream.Length - stream.Position;
            if (remaining > Array.MaxLength) throw TooLarge(source, remaining);
            var data = new byte[Math.Max(0, remaining)];
            stream.ReadExactly(data);
            return data;
        }
        using var ms = new MemoryStream();
        var buffer = new byte[1 << 16];
        int n;
        while ((n = stream.Read(buffer)) > 0)
        {
            if (ms.Length + n > Array.MaxLength) throw TooLarge(source, ms.Length + n);
            ms.Write(buffer, 0, n);
        }
        return ms.ToArray();
    }

    private static ModelFileException TooLarge(string source, long length) =>
        new(Message(source, $"the file is {length} bytes, larger than any model file can be ({Array.MaxLength} bytes)",
            "It is not a HilBench model; check the path."));

    private static string Message(string source, string problem, string fix) => $"Cannot load model '{source}': {problem}. {fix}";

    private static ModelFileException Error(string source, string problem, string fix, Exception? inner = null) =>
        new(Message(source, problem, fix), inner);

    private const string ResaveFix = "The file is damaged or was not written by a compatible HilBench; save or export the model again.";

    /// <summary>Decodes a whole file. The order of checks decides which problem is reported when several apply.</summary>
    private static BnnModel Parse(byte[] data, string src)
    {
        int n = data.Length;
        if (n == 0)
            throw Error(src, "the file is empty (0 bytes)", "It was never written completely; save or copy the model again.");
        var magic = Magic;
        bool magicOk = n < magic.Length ? magic.StartsWith(data) : data.AsSpan(0, magic.Length).SequenceEqual(magic);
        if (!magicOk) throw NotAModel(data, src);
        if (n < 12)
            throw Truncated(src, n, n < magic.Length ? "inside the 8-byte signature" : "inside the format version (offset 8)", null);
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(8));
        if (version != FormatVersion)
            throw Error(src, $"the file uses format version {version}, but this HilBench reads format version {FormatVersion} only",
                version > FormatVersion
                    ? $"It was written by a newer HilBench; upgrade HilBench to load it, or save the model in format version {FormatVersion}."
                    : $"There is no format version {version}; the file is corrupt. Save the model again.");
        if (n < HeaderLength)
            throw Truncated(src, n, $"inside the {HeaderLength}-byte header", null);
        uint headerLength = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(12));
        if (headerLength is < HeaderLength or > MaxHeaderLength)
            throw Error(src, $"its header length field (offset 12) is {headerLength}, but version {FormatVersion} headers are {HeaderLength} to {MaxHeaderLength} bytes: the file is corrupt", ResaveFix);
        ulong declared = BinaryPrimitives.ReadUInt64LittleEndian(data.AsSpan(16));
        if (declared < headerLength + (ulong)(LayerRecordHeader + 12 + ChecksumLength) || declared > (ulong)Array.MaxLength)
            throw Error(src, $"its file length field (offset 16) is {declared}, which is impossible: the file is corrupt", ResaveFix);
        int length = (int)declared;
        if (n < length) throw DescribeTruncation(data, src, (int)headerLength, length);
        if (!ChecksumMatches(data, length))
            throw Error(src, n == length
                    ? "its SHA-256 checksum does not match its contents: the file is corrupt (it changed after it was written)"
                    : $"it is {n} bytes but its header says {length}, and the checksum does not match either way: the file is corrupt",
                "Restore it from a good copy, or save or export the model again.");
        if (n > length)
            throw Error(src, $"there are {n - length} unexpected trailing bytes after the checksum that ends the model at offset {length}",
                $"Something was appended to the file; truncate it to {length} bytes or save the model again.");

        ParsedModel parsed;
        try
        {
            parsed = ParseBody(data, (int)headerLength, length - ChecksumLength);
        }
        catch (FormatError e)
        {
            throw Error(src, e.EndOfData
                    ? $"{e.Message} before the checksum: the sizes recorded in the file do not fit its length (the file is inconsistent)"
                    : e.Message,
                e.Fix ?? ResaveFix, e.InnerException);
        }
        if (parsed.End != length - ChecksumLength)
            throw Error(src, $"there are {length - ChecksumLength - parsed.End} unexplained bytes between the end of the metadata (offset {parsed.End}) and the checksum (offset {length - ChecksumLength}): the file is inconsistent", ResaveFix);
        try
        {
            return new BnnModel(parsed.Input, parsed.Layers, parsed.Scale, parsed.Metadata);
        }
        catch (Exception e) when (e is InvalidModelException or ArgumentException)
        {
            throw Error(src, $"the layers have inconsistent shapes: {e.Message}", ResaveFix, e);
        }
    }

    private static bool ChecksumMatches(byte[] data, int length) =>
        SHA256.HashData(data.AsSpan(0, length - ChecksumLength)).AsSpan().SequenceEqual(data.AsSpan(length - ChecksumLength, ChecksumLength));

    private static ModelFileException Truncated(string src, int n, string where, int? declared) =>
        Error(src, $"the file is truncated: it ends at byte {n} {where}" + (declared is int d ? $", but its header says it is {d} bytes long" : ""),
            "It was cut short (an interrupted save, copy or download); copy or save the model again.");

    /// <summary>Finds where a short file ends by decoding as much of it as is present.</summary>
    private static ModelFileException DescribeTruncation(byte[] data, string src, int headerLength, int declared)
    {
        int n = data.Length;
        if (n < headerLength) return Truncated(src, n, $"inside the {headerLength}-byte header", declared);
        string where;
        try
        {
            var p = ParseBody(data, headerLength, n);
            int missing = p.End + ChecksumLength - n;
            if (missing <= 0)
                return Error(src, $"its header says it is {declared} bytes long, but the model data ends at offset {p.End} and the file at byte {n}: the header is corrupt", ResaveFix);
            where = $"inside the SHA-256 checksum at offset {p.End} ({missing} of its {ChecksumLength} bytes are missing)";
        }
        catch (FormatError e) when (e.EndOfData)
        {
            where = $"while reading {e.What} at offset {e.Offset}";
        }
        catch (FormatError e)
        {
            where = $"(the part that is present is not valid either: {e.Message})";
        }
        return Truncated(src, n, where, declared);
    }

    private static ModelFileException NotAModel(byte[] data, string src)
    {
        ReadOnlySpan<byte> d = data;
        string what, fix;
        if (d.StartsWith("PK\u0003\u0004"u8) || d.StartsWith("PK\u0005\u0006"u8) || d.StartsWith("PK\u0007\u0008"u8))
        {
            what = "it is a zip archive (a NumPy .npz export or a PyTorch checkpoint?)";
            fix = "Pass the .hbnn model instead; .npz exports are one-way, for Python, and cannot be loaded back.";
        }
        else if (d.StartsWith((ReadOnlySpan<byte>)[0x1F, 0x8B]))
        {
            what = "it is gzip-compressed";
            fix = "Decompress it first (gunzip) and load the .hbnn file inside.";
        }
        else if (d.StartsWith((ReadOnlySpan<byte>)[0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y']))
        {
            what = "it is a NumPy .npy array";
            fix = "Pass the .hbnn model instead.";
        }
        else if (d.StartsWith("HBNN"u8))
        {
            what = "it starts like a HilBench model but the rest of its 8-byte signature is damaged, which happens when line endings are converted by a text-mode transfer";
            fix = "Copy the file again in binary mode (for git, mark *.hbnn as binary in .gitattributes), or save the model again.";
        }
        else
        {
            what = $"it starts with the bytes {Convert.ToHexString(d[..Math.Min(8, d.Length)])} instead of the signature {Convert.ToHexString(Magic)} (\"HBNN\\r\\n\\x1a\\n\")";
            fix = "Check the path; HilBench models are .hbnn files written by HilBench.";
        }
        return Error(src, $"it is not a HilBench model file: {what}", fix);
    }

    private sealed record ParsedModel(TensorShape Input, float Scale, List<BnnLayer> Layers, ModelMetadata Metadata, int End);

    /// <summary>A decoding problem; <see cref="EndOfData"/> means a read would go past the limit (truncation or an absurd size).</summary>
    private sealed class FormatError : Exception
    {
        private FormatError(string message, Exception? inner) : base(message, inner) { }

        public bool EndOfData { get; private init; }
        public string What { get; private init; } = "";
        public int Offset { get; private init; }
        public string? Fix { get; private init; }

        public static FormatError End(string what, int offset, long needed, int remaining) =>
            new($"{what} at offset {offset} would take {needed} bytes but only {Math.Max(0, remaining)} remain", null)
            { EndOfData = true, What = what, Offset = offset };

        public static FormatError Invalid(string message, string? fix = null, Exception? inner = null) => new(message, inner) { Fix = fix };

        public static FormatError Absurd(string what, long value, long limit) =>
            new($"{what} is {value}, outside the allowed range (at most {limit}): the sizes in the file are absurd", null);
    }

    /// <summary>Reads little-endian values up to a limit (the start of the checksum, or the end of a short file).</summary>
    private sealed class Cursor(byte[] data, int start, int limit)
    {
        public int Position { get; private set; } = start;

        public void Require(long bytes, string what)
        {
            if (bytes > limit - Position) throw FormatError.End(what, Position, bytes, limit - Position);
        }

        public ReadOnlySpan<byte> Take(int bytes, string what)
        {
            Require(bytes, what);
            var span = data.AsSpan(Position, bytes);
            Position += bytes;
            return span;
        }

        public uint U32(string what) => BinaryPrimitives.ReadUInt32LittleEndian(Take(4, what));

        public int I32(string what) => BinaryPrimitives.ReadInt32LittleEndian(Take(4, what));
    }

    private static ParsedModel ParseBody(byte[] data, int headerLength, int limit)
    {
        var header = new Cursor(data, 24, HeaderLength);
        var input = ReadShape(header, "the input shape");
        float scale = BinaryPrimitives.ReadSingleLittleEndian(header.Take(4, "the logit scale"));
        uint layerCount = header.U32("the layer count");
        uint reserved = header.U32("the reserved field");
        if (!(scale > 0) || float.IsInfinity(scale))
            throw FormatError.Invalid($"the logit scale (offset 36) is {scale}, but it must be positive and finite: the file is inconsistent");
        if (reserved != 0)
            throw FormatError.Invalid($"the reserved header field (offset 44) is 0x{reserved:x8}, but format version {FormatVersion} requires 0",
                "The file was written by an incompatible tool; save the model again with HilBench.");
        if (layerCount is 0 or > MaxLayers)
        {
            if (layerCount == 0) throw FormatError.Invalid("the header declares 0 layers: the file is inconsistent");
            throw FormatError.Absurd("the layer count (offset 40)", layerCount, MaxLayers);
        }

        var c = new Cursor(data, headerLength, limit);
        var layers = new List<BnnLayer>();
        for (int i = 0; i < layerCount; i++) layers.Add(ReadLayer(c, i));
        string dataset = ReadString(c, "the dataset name");
        var training = ReadEntries(c, "training");
        var extra = ReadEntries(c, "extra");
        var metadata = new ModelMetadata { Dataset = dataset, Training = training, Extra = extra };
        return new ParsedModel(input, scale, layers, metadata, c.Position);
    }

    private static TensorShape ReadShape(Cursor c, string what)
    {
        int h = c.I32($"the height of {what}");
        int w = c.I32($"the width of {what}");
        int ch = c.I32($"the channel count of {what}");
        CheckDimension(h, $"the height of {what}");
        CheckDimension(w, $"the width of {what}");
        CheckDimension(ch, $"the channel count of {what}");
        long size = (long)h * w * ch;
        if (size > MaxShapeSize) throw FormatError.Absurd($"the number of values in {what} ({h}x{w}x{ch})", size, MaxShapeSize);
        return new TensorShape(h, w, ch);
    }

    private static void CheckDimension(int value, string what)
    {
        if (value < 1) throw FormatError.Invalid($"{what} is {value}, but dimensions must be positive: the file is inconsistent");
        if (value > MaxDimension) throw FormatError.Absurd(what, value, MaxDimension);
    }

    private static BnnLayer ReadLayer(Cursor c, int i)
    {
        int at = c.Position;
        uint kind = c.U32($"the kind code of layer {i}");
        string name = kind switch
        {
            KindDense => "dense",
            KindConv3x3 => "conv3x3",
            KindMaxPool2x2 => "maxpool2x2",
            KindThreshold => "threshold",
            _ => throw FormatError.Invalid(
                $"layer {i} (offset {at}) has unknown layer kind code {kind}; format version {FormatVersion} knows 1 (dense), 2 (conv3x3), 3 (maxpool2x2) and 4 (threshold)",
                "The file is corrupt or was written by a newer HilBench; upgrade HilBench or save the model again."),
        };
        string layer = $"layer {i} ({name})";
        var shape = ReadShape(c, $"the input shape of {layer}");
        try
        {
            switch (kind)
            {
                case KindDense or KindConv3x3:
                    {
                        int rows = c.I32($"the row count of {layer}");
                        int columns = c.I32($"the column count of {layer}");
                        CheckDimension(rows, $"the row count of {layer}");
                        CheckDimension(columns, $"the column count of {layer}");
                        int perRow = BitMatrix.WordsFor(columns);
                        long count = (long)rows * perRow;
                        // Bounded by what is left of the file before anything is allocated.
                        string what = $"the {rows}x{columns} weights of {layer} ({count * 8} bytes)";
                        c.Require(count * 8, what);
                        var bytes = c.Take((int)(count * 8), what);
                        var words = new ulong[count];
                        if (BitConverter.IsLittleEndian) MemoryMarshal.Cast<byte, ulong>(bytes).CopyTo(words);
                        else for (int k = 0; k < words.Length; k++) words[k] = BinaryPrimitives.ReadUInt64LittleEndian(bytes.Slice(k * 8, 8));
                        if ((columns & 63) != 0)
                        {
                            ulong pad = ~((1UL << (columns & 63)) - 1);
                            for (int r = 0; r < rows; r++)
                                if ((words[(long)r * perRow + perRow - 1] & pad) != 0)
                                    throw FormatError.Invalid($"row {r} of the weights of {layer} has non-zero padding bits after column {columns}; the bits past the last column of each row must be zero: the file is corrupt");
                        }
                        var matrix = new BitMatrix(rows, columns, words);
                        return kind == KindDense ? new BinaryDense(shape, matrix) : new BinaryConv2d(shape, matrix);
                    }
                case KindThreshold:
                    {
                        int channels = shape.Channels;
                        c.Require(5L * channels, $"the {channels} thresholds and orientations of {layer}");
                        var thresholds = new int[channels];
                        for (int j = 0; j < channels; j++) thresholds[j] = c.I32($"threshold {j} of {layer}");
                        var orientation = c.Take(channels, $"the orientations of {layer}");
                        var ascending = new bool[channels];
                        for (int j = 0; j < channels; j++)
                        {
                            if (orientation[j] > 1)
                                throw FormatError.Invalid($"the orientation of channel {j} of {layer} is {orientation[j]}, but it must be 1 (ascending) or 0 (descending): the file is corrupt");
                            ascending[j] = orientation[j] == 1;
                        }
                        return new ThresholdLayer(shape, thresholds, ascending);
                    }
                default:
                    return new MaxPool2d(shape);
            }
        }
        catch (ArgumentException e)
        {
            throw FormatError.Invalid($"{layer} has inconsistent shapes: {e.Message}", null, e);
        }
    }

    private static string ReadString(Cursor c, string what)
    {
        uint length = c.U32($"the length of {what}");
        if (length > MaxStringBytes) throw FormatError.Absurd($"the length of {what} (offset {c.Position - 4})", length, MaxStringBytes);
        int at = c.Position;
        var bytes = c.Take((int)length, what);
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException e)
        {
            throw FormatError.Invalid($"{what} at offset {at} is not valid UTF-8: the file is corrupt", null, e);
        }
    }

    private static SortedDictionary<string, string> ReadEntries(Cursor c, string section)
    {
        uint count = c.U32($"the number of {section} metadata entries");
        if (count > MaxEntries) throw FormatError.Absurd($"the number of {section} metadata entries (offset {c.Position - 4})", count, MaxEntries);
        c.Require(8L * count, $"the {count} {section} metadata entries");
        var entries = new SortedDictionary<string, string>(StringComparer.Ordinal);
        string? previous = null;
        for (int j = 0; j < count; j++)
        {
            string key = ReadString(c, $"{section} metadata key {j}");
            string value = ReadString(c, $"the value of {section} metadata key '{key}'");
            if (previous is not null && string.CompareOrdinal(previous, key) >= 0)
                throw FormatError.Invalid($"{section} metadata key '{key}' is repeated or out of order; keys must be stored in strictly increasing ordinal order: the file is inconsistent");
            entries.Add(key, value);
            previous = key;
        }
        return entries;
    }
}
