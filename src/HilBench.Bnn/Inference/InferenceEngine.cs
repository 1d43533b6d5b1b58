using HilBench.Bnn.Kernels;
using HilBench.Bnn.Layers;
using HilBench.Bnn.Model;
using HilBench.Bnn.Tensors;

namespace HilBench.Bnn.Inference;

/// <summary>
/// Fast, bit-exact BNN inference. The model is compiled once for a kernel path (weights re-laid out for
/// that path); <see cref="Run"/> then streams tiles of images through every block, several images
/// sharing each weight load, tiles spread over threads. Results equal <see cref="ReferenceInference"/>.
/// </summary>
public sealed class InferenceEngine
{
    private const int TileBytesBudget = 1 << 20;
    private readonly Stage[] _stages;
    private readonly int _tile;
    private readonly int _fusedTile;

    public InferenceEngine(BnnModel model, KernelPath path = KernelPath.Auto) : this(model, path, allowLookupKernels: true) { }

    /// <param name="allowLookupKernels">false keeps binary layers on the XOR-popcount kernel even where the lookup kernel would be used (tests check both).</param>
    internal InferenceEngine(BnnModel model, KernelPath path, bool allowLookupKernels)
    {
        Model = model;
        Path = KernelPaths.Resolve(path);
        _stages = model.Blocks.Select(b => new Stage(b, Path, allowLookupKernels)).ToArray();
        _tile = TileFor(fused: false);
        _fusedTile = TileFor(fused: true);
    }

    /// <summary>Images per tile such that one tile's buffers for the largest stage stay within the budget.</summary>
    private int TileFor(bool fused)
    {
        long perImage = _stages.Max(s => s.BytesPerImage(fused)) + Model.InputShape.Size;
        return (int)Math.Clamp(TileBytesBudget / perImage / 4 * 4, 4, 64);
    }

    public BnnModel Model { get; }

    /// <summary>The concrete kernel path in use (Auto resolved).</summary>
    public KernelPath Path { get; }

    /// <summary>Images processed together by one thread (when pre-activations are captured; plain runs may take more).</summary>
    public int TileImages => _tile;

    /// <summary>
    /// Classifies <paramref name="count"/> images (each InputShape.Size bytes, HWC) on up to
    /// <paramref name="threads"/> threads (0 = all cores). With <paramref name="captureLayers"/> every
    /// block's pre-activations and outputs are kept in the result.
    /// </summary>
    public InferenceResult Run(ReadOnlyMemory<byte> pixels, int count, int threads = 0, bool captureLayers = false)
    {
        int inputSize = Model.InputShape.Size;
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (pixels.Length != (long)count * inputSize)
            throw new ArgumentException($"expected {count} images of {Model.InputShape} = {(long)count * inputSize} bytes, got {pixels.Length}");
        return Execute(new Input(pixels, null, 0), count, threads, captureLayers);
    }

    /// <summary>
    /// Runs blocks <paramref name="block"/>..end on given +-1 inputs instead of pixels: one row per image of
    /// Blocks[block].Linear.InputShape.Size bits, exactly the layout of the previous block's
    /// <see cref="LayerActivations.Outputs"/>. The bit-error-tolerance metrics use it to re-run only the layers
    /// after a modified activation. Block 0 reads pixels, so <paramref name="block"/> must be at least 1.
    /// </summary>
    public InferenceResult RunFrom(int block, BitMatrix inputs, int threads = 0)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentOutOfRangeException.ThrowIfLessThan(block, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(block, _stages.Length);
        int bits = _stages[block].In.Size;
        if (inputs.Columns != bits)
            throw new ArgumentException($"block {block} reads {bits} bits per image ({_stages[block].In}), the inputs have {inputs.Columns}", nameof(inputs));
        // The kernels XOR whole words, so set padding bits would count as disagreeing inputs.
        if (!inputs.PaddingIsZero()) throw new ArgumentException("padding bits after the last column must be zero", nameof(inputs));
        return Execute(new Input(ReadOnlyMemory<byte>.Empty, inputs, block), inputs.Rows, threads, captureLayers: false);
    }

    /// <summary>What the first stage run reads: pixels for stage 0, packed bits (one matrix row per image) for a later stage.</summary>
    private sealed record Input(ReadOnlyMemory<byte> Pixels, BitMatrix? Bits, int FirstStage);

    private InferenceResult Execute(Input input, int count, int threads, bool captureLayers)
    {
        if (threads <= 0) threads = Environment.ProcessorCount;
        int classes = Model.Classes;
        var logits = new int[count * classes];
        var predictions = new int[count];
        int[][]? pre = captureLayers ? _stages.Select(s => new int[CaptureLength(s, count)]).ToArray() : null;
        BitMatrix?[]? outs = captureLayers ? _stages.Select(s => s.Act is null || count == 0 ? null : new BitMatrix(count, s.Out.Size)).ToArray() : null;
        // A fused stage skips its pre-activations, so it serves only runs that do not capture them.
        bool fused = !captureLayers;
        int tile = fused ? _fusedTile : _tile;
        var output = new Output(logits, predictions, classes, pre, outs, fused, tile);

        int tiles = (count + tile - 1) / tile;
        if (threads == 1 || tiles == 1)
        {
            var ws = new Workspace(this, output);
            for (int t = 0; t < tiles; t++) RunTile(input, t, count, ws, output);
        }
        else
        {
            Parallel.For(0, tiles, new ParallelOptions { MaxDegreeOfParallelism = threads }, () => new Workspace(this, output),
                (t, _, ws) =>
                {
                    RunTile(input, t, count, ws, output);
                    return ws;
                },
                _ => { });
        }

        LayerActivations[]? layers = captureLayers
            ? _stages.Select((s, i) => new LayerActivations(i, s.Out, count, pre![i], outs![i])).ToArray()
            : null;
        return new InferenceResult(count, classes, logits, predictions, layers);
    }

    /// <summary>Values of one block's captured pre-activations for <paramref name="count"/> images; refuses more than an array holds.</summary>
    private static int CaptureLength(Stage s, int count)
    {
        long length = (long)count * s.Out.Size;
        if (length > Array.MaxLength)
            throw new ArgumentException($"capturing block {s.Index}'s pre-activations ({s.Out}) for {count} images needs {length} values, more than one array holds; capture at most {Array.MaxLength / s.Out.Size} images per run", nameof(count));
        return (int)length;
    }

    private sealed record Output(int[] Logits, int[] Predictions, int Classes, int[][]? Pre, BitMatrix?[]? Outs, bool Fused, int Tile);

    private void RunTile(Input source, int tileIndex, int count, Workspace ws, Output output)
    {
        int first = tileIndex * output.Tile;
        int n = Math.Min(output.Tile, count - first);
        Span<ulong> bitsIn = ws.BitsA, bitsOut = ws.BitsB;
        ReadOnlySpan<byte> input = default;
        if (source.Bits is { } given)
        {
            // Later stages read the previous stage's packed rows; given inputs have exactly that layout.
            int words = given.WordsPerRow;
            given.Words.AsSpan(first * words, n * words).CopyTo(bitsIn);
        }
        else
        {
            int inputSize = Model.InputShape.Size;
            input = source.Pixels.Span.Slice(first * inputSize, n * inputSize);
        }
        for (int si = source.FirstStage; si < _stages.Length; si++)
        {
            var s = _stages[si];
            int words = s.OutWords;
            if (output.Fused && s.Fused is { } fused)
            {
                int size = Model.InputShape.Size;
                bitsOut[..(n * words)].Clear();
                for (int i = 0; i < n; i++) fused.Run(input.Slice(i * size, size), ws.Padded, bitsOut.Slice(i * words, words));
            }
            else
            {
                Span<int> lin = ws.Lin.AsSpan(0, n * s.Lin.Size);
                s.Linear(input, bitsIn, n, lin, ws, Path);

                Span<int> pre = lin;
                if (s.Block.Pool is not null)
                {
                    pre = ws.Pooled.AsSpan(0, n * s.Out.Size);
                    for (int i = 0; i < n; i++)
                        Activation.MaxPool(lin.Slice(i * s.Lin.Size, s.Lin.Size), s.Lin, pre.Slice(i * s.Out.Size, s.Out.Size));
                }
                if (output.Pre is not null) pre.CopyTo(output.Pre[s.Index].AsSpan(first * s.Out.Size));

                if (s.Act is not { } act)
                {
                    pre.CopyTo(output.Logits.AsSpan(first * output.Classes));
                    for (int i = 0; i < n; i++)
                        output.Predictions[first + i] = InferenceResult.ArgMax(pre.Slice(i * output.Classes, output.Classes));
                    continue;
                }
                bitsOut[..(n * words)].Clear();
                for (int i = 0; i < n; i++)
                    act.Threshold(Path, pre.Slice(i * s.Out.Size, s.Out.Size), bitsOut.Slice(i * words, words));
                if (output.Outs?[s.Index] is { } captured)
                    bitsOut[..(n * words)].CopyTo(captured.Words.AsSpan(first * words));
            }
            var swap = bitsIn;
            bitsIn = bitsOut;
            bitsOut = swap;
        }
    }

    /// <summary>Per-thread buffers, sized for one tile through the largest block.</summary>
    private sealed class Workspace
    {
        public Workspace(InferenceEngine e, Output output)
        {
            int t = output.Tile;
            // Stages that run fused need none of the unfused buffers.
            var unfused = e._stages.Where(s => !(output.Fused && s.Fused is not null)).ToArray();
            Lin = new int[t * unfused.Max(s => s.Lin.Size)];
            Pooled = new int[t * unfused.Max(s => s.Out.Size)];
            int words = e._stages.Max(s => s.OutWords);
            BitsA = new ulong[t * words];
            BitsB = new ulong[t * words];
            PatchBytes = new byte[t * unfused.Max(s => s.PatchBytesPerImage)];
            PatchBits = new ulong[t * unfused.Max(s => s.PatchWordsPerImage)];
            Scratch = new ushort[unfused.Max(s => s.Pixels?.ScratchUShorts(t) ?? 0)];
            LutScratch = new byte[unfused.Max(s => s.Lut?.ScratchBytes ?? 0)];
            Padded = new byte[output.Fused ? e._stages.Max(s => s.Fused?.PaddedBytes ?? 0) : 0];
        }

        public int[] Lin { get; }
        public int[] Pooled { get; }
        public ulong[] BitsA { get; }
        public ulong[] BitsB { get; }
        public byte[] PatchBytes { get; }
        public ulong[] PatchBits { get; }
        public ushort[] Scratch { get; }
        public byte[] LutScratch { get; }
        public byte[] Padded { get; }
    }

    /// <summary>One block compiled for a kernel path.</summary>
    private sealed class Stage
    {
        public Stage(BnnBlock block, KernelPath path, bool allowLookup)
        {
            Block = block;
            Index = block.Index;
            In = block.Linear.InputShape;
            Lin = block.Linear.OutputShape;
            Out = block.OutputShape;
            OutWords = BitMatrix.WordsFor(Out.Size);
            IsConv = block.Linear is BinaryConv2d;
            Weights = block.Linear.Weights;
            // The kernels XOR whole words, so set padding bits (written through Words) would count as disagreeing inputs.
            if (!Weights.PaddingIsZero())
                throw new ArgumentException($"block {Index} ({block.Linear.Kind}) has weight bits set after column {Weights.Columns}; clear the padding bits of each row (BitMatrix.Words) before running the model", nameof(block));
            if (block.ReadsPixels)
            {
                Pixels = new PixelGemm(path, Weights);
                if (PixelConvPool.Supports(block, path)) Fused = new PixelConvPool(block);
            }
            else
            {
                if (IsConv) Border = new ConvBorder(Weights, In.Height, In.Width, In.Channels);
                if (allowLookup && BinaryLutGemm.Suits(Weights, path))
                    Lut = new BinaryLutGemm(Weights);
            }
            if (block.Threshold is { } t) Act = new Activation(t);
        }

        public BnnBlock Block { get; }
        public int Index { get; }
        public TensorShape In { get; }
        public TensorShape Lin { get; }
        public TensorShape Out { get; }
        public int OutWords { get; }
        public bool IsConv { get; }
        public BitMatrix Weights { get; }
        public PixelGemm? Pixels { get; }

        /// <summary>Conv, pool and threshold in one kernel, for runs that do not capture pre-activations.</summary>
        public PixelConvPool? Fused { get; }
        public ConvBorder? Border { get; }
        public BinaryLutGemm? Lut { get; }
        public Activation? Act { get; }

        private int Positions => IsConv ? In.Height * In.Width : 1;

        public int PatchBytesPerImage => IsConv && Pixels is not null ? Positions * Weights.Columns : 0;

        public int PatchWordsPerImage => IsConv && Pixels is null ? Positions * Weights.WordsPerRow : 0;

        public long BytesPerImage(bool fused) =>
            (fused && Fused is not null ? 0 : PatchBytesPerImage + 8L * PatchWordsPerImage + 4L * (Lin.Size + Out.Size)) + 16L * OutWords;

        /// <summary>Pre-activations of the weight layer for n images (pixels for the first block, packed bits after).</summary>
        public void Linear(ReadOnlySpan<byte> pixels, ReadOnlySpan<ulong> bits, int n, Span<int> lin, Workspace ws, KernelPath path)
        {
            int outs = Weights.Rows;
            if (Pixels is not null)
            {
                if (!IsConv)
                {
                    Pixels.Run(pixels, n, lin, outs, ws.Scratch);
                    return;
                }
                int row = Weights.Columns;
                var patches = ws.PatchBytes.AsSpan(0, n * Positions * row);
                for (int i = 0; i < n; i++)
                    Im2Col.Pixels(pixels.Slice(i * In.Size, In.Size), In.Height, In.Width, In.Channels, patches.Slice(i * Positions * row));
                Pixels.Run(patches, n * Positions, lin, outs, ws.Scratch);
                return;
            }
            int inWords = BitMatrix.WordsFor(In.Size);
            if (!IsConv)
            {
                Binary(bits[..(n * inWords)], n, lin, ws, path);
                return;
            }
            int pw = Weights.WordsPerRow;
            var patchBits = ws.PatchBits.AsSpan(0, n * Positions * pw);
            for (int i = 0; i < n; i++)
                Im2Col.Bits(bits.Slice(i * inWords, inWords), In.Height, In.Width, In.Channels, patchBits.Slice(i * Positions * pw), pw);
            Binary(patchBits, n * Positions, lin, ws, path);
            for (int i = 0; i < n; i++) Border!.Apply(lin.Slice(i * Lin.Size, Lin.Size), outs);
        }

        private void Binary(ReadOnlySpan<ulong> x, int rows, Span<int> lin, Workspace ws, KernelPath path)
        {
            if (Lut is not null) Lut.Run(x, rows, lin, Weights.Rows, ws.LutScratch);
            else BinaryGemm.Run(path, x, rows, Weights, lin, Weights.Rows);
        }
    }
}
