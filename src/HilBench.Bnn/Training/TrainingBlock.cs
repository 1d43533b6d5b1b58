using System.Runtime.Intrinsics;
using HilBench.Bnn.Errors;
using HilBench.Bnn.Kernels;
using HilBench.Bnn.Layers;
using HilBench.Bnn.Tensors;

namespace HilBench.Bnn.Training;

/// <summary>
/// One block during training (a dense layer, or a 3x3 convolution with optional 2x2 max pooling, then
/// batch norm and sign for hidden blocks): latent weights, batch norm parameters and running statistics,
/// and what the current step's forward pass left for the backward pass. A convolution is trained as a
/// dense product over its im2col patches: one row per image and position.
/// </summary>
internal sealed class TrainingBlock
{
    private readonly int _slotWeights;
    private readonly int _slotGamma = -1;
    private readonly int _slotBeta = -1;

    private BitMatrix _bits = null!;
    private float[] _signs = [];
    private float[] _input = [];
    private float[] _normalized = [];
    private float[] _invStd = [];
    private float[] _z = [];

    private int[] _intPre = [];
    private float[] _pre = [];
    private float[] _output = [];
    private ulong[] _outputBits = [];
    private float[] _dx = [];
    private float[] _dz = [];
    private float[] _da = [];
    private ushort[][] _pixelScratch = [];
    private byte[][] _lutScratch = [];

    // Convolutions: input map, border correction, patches, pooling winners, per-image output bits.
    private readonly TensorShape _map;
    private readonly bool _pool;
    private byte[] _patchBytes = [];
    private ulong[] _patchBits = [];
    private float[] _full = [];
    private int[] _winner = [];
    private float[] _dFull = [];
    private float[] _dPatches = [];
    private ulong[] _imageBits = [];


    /// <summary>A 3x3 "same" convolution over <paramref name="map"/>, optionally followed by 2x2 max pooling.</summary>
    public TrainingBlock(int index, TensorShape map, int outputs, bool pool, bool hidden, Random init, AdamOptimizer adam)
        : this(index, 9 * map.Channels, outputs, hidden, init, adam)
    {
        IsConv = true;
        _map = map;
        _pool = pool;
    }

    public TrainingBlock(int index, int fanIn, int outputs, bool hidden, Random init, AdamOptimizer adam)
    {
        Index = index;
        In = fanIn;
        Out = outputs;
        Hidden = hidden;
        Latent = new float[outputs * fanIn];
        LatentGradient = new float[Latent.Length];
        // Glorot-uniform latent weights: small, so signs follow the gradient early in training.
        double limit = Math.Sqrt(6.0 / (fanIn + outputs));
        for (int i = 0; i < Latent.Length; i++) Latent[i] = (float)((init.NextDouble() * 2 - 1) * limit);
        _slotWeights = adam.Register(Latent.Length);
        if (!hidden) return;
        Gamma = Enumerable.Repeat(1f, outputs).ToArray();
        Beta = new float[outputs];
        GammaGradient = new float[outputs];
        BetaGradient = new float[outputs];
        RunningMean = new double[outputs];
        RunningVariance = Enumerable.Repeat(1.0, outputs).ToArray();
        _slotGamma = adam.Register(outputs);
        _slotBeta = adam.Register(outputs);
    }

    public int Index { get; }

    public bool IsConv { get; }

    /// <summary>Rows of the linear product per image: positions of the input map for a convolution, 1 for dense.</summary>
    private int Positions => IsConv ? _map.Height * _map.Width : 1;

    /// <summary>Rows of the block's output per image: positions after pooling for a convolution, 1 for dense.</summary>
    public int OutputPositions => !IsConv ? 1 : _pool ? _map.Height / 2 * (_map.Width / 2) : Positions;

    /// <summary>Shape of the block's output per image (after pooling).</summary>
    public TensorShape OutputShape => !IsConv ? TensorShape.Vector(Out) : _pool ? new(_map.Height / 2, _map.Width / 2, Out) : new(_map.Height, _map.Width, Out);

    /// <summary>The trained layers of this block, ready for a model: weights, pooling, threshold.</summary>
    public IEnumerable<BnnLayer> ExportLayers(TensorShape input, double eps)
    {
        if (IsConv)
        {
            var conv = new BinaryConv2d(input, Signs());
            yield return conv;
            if (_pool) yield return new MaxPool2d(conv.OutputShape);
        }
        else yield return new BinaryDense(input, Signs());
        if (Hidden) yield return Threshold(OutputShape, eps);
    }
    public int In { get; }
    public int Out { get; }
    public bool Hidden { get; }
    public float[] Latent { get; }
    public float[] LatentGradient { get; }
    public float[] Gamma { get; } = [];
    public float[] Beta { get; } = [];
    public float[] GammaGradient { get; } = [];
    public float[] BetaGradient { get; } = [];
    public double[] RunningMean { get; } = [];
    public double[] RunningVariance { get; } = [];

    /// <summary>Integer pre-activations of the last forward pass, as floats (count x Out).</summary>
    public float[]? PreActivations { get; internal set; }

    /// <summary>Batch-normalized pre-activations z of the last forward pass (before sign), for tests.</summary>
    internal float[] Normalized => _z;

    /// <summary>+-1 outputs of the last forward pass (hidden blocks), as floats and packed.</summary>
    public float[]? Output { get; private set; }

    public ulong[]? OutputBits { get; private set; }

    /// <summary>Signs of the latent weights (bit 1 for w &gt;= 0), without errors.</summary>
    public BitMatrix Signs()
    {
        var m = new BitMatrix(Out, In);
        Parallel.For(0, Out, o => PackSigns(Latent.AsSpan(o * In, In), m.Row(o)));
        return m;
    }

    /// <summary>Bit i of the row = (values[i] &gt;= 0), sixteen at a time.</summary>
    private static void PackSigns(ReadOnlySpan<float> values, Span<ulong> row)
    {
        int i = 0;
        for (; i + 16 <= values.Length; i += 16)
        {
            ulong bits = Vector512.GreaterThanOrEqual(Vector512.Create(values.Slice(i, 16)), Vector512<float>.Zero).ExtractMostSignificantBits();
            row[i >> 6] |= bits << (i & 63);
        }
        for (; i < values.Length; i++)
            if (values[i] >= 0) row[i >> 6] |= 1UL << (i & 63);
    }

    private static readonly Vector512<int> LaneBits = Vector512.Create(Enumerable.Range(0, 16).Select(i => 1 << i).ToArray());

    /// <summary>Binarizes the latent weights for this step and, for bit flip training, flips some of the bits.</summary>
    public void Binarize(IWeightErrorSource? flips, Random random)
    {
        _bits = Signs();
        flips?.Inject(_bits, Index, random);
        if (_signs.Length != Latent.Length) _signs = new float[Latent.Length];
        Parallel.For(0, Out, o =>
        {
            var row = _bits.Row(o);
            var signs = _signs.AsSpan(o * In, In);
            int i = 0;
            for (; i + 16 <= In; i += 16)
            {
                var set = Vector512.Equals(Vector512.Create((int)(row[i >> 6] >> (i & 63) & 0xFFFF)) & LaneBits, LaneBits);
                Vector512.ConditionalSelect(set.AsSingle(), Vector512<float>.One, -Vector512<float>.One).CopyTo(signs.Slice(i, 16));
            }
            for (; i < In; i++) signs[i] = (row[i >> 6] >> (i & 63) & 1) != 0 ? 1f : -1f;
        });
    }

    /// <summary>
    /// Pre-activations with the inference kernels (pixels for block 0, packed bits after), then, for hidden
    /// blocks, batch norm on the batch statistics and sign.
    /// </summary>
    public void Forward(ReadOnlySpan<byte> pixels, ulong[]? bits, float[] input, int count, KernelPath path, TrainingOptions options, bool training, int threads)
    {
        int rows = count * Positions;
        // Only the first block reads pixels; the others read the previous block's bits.
        byte[] px = Index == 0 ? pixels.ToArray() : [];
        ulong[]? rowBits = bits;
        _input = input;
        if (IsConv)
        {
            (px, rowBits, _input) = Patches(px, bits, input, count);
        }
        var a = Buffers.Ensure(ref _intPre, rows * Out);
        // Row ranges of whole quads run in parallel, each with its own scratch: the kernels are exact, so the split changes nothing.
        int parts = Math.Max(1, Math.Min(threads, rows / 4));
        if (_pixelScratch.Length < parts)
        {
            _pixelScratch = new ushort[parts][];
            _lutScratch = new byte[parts][];
            for (int p = 0; p < parts; p++) (_pixelScratch[p], _lutScratch[p]) = ([], []);
        }
        if (Index == 0)
        {
            var gemm = new PixelGemm(path, _bits);
            Parallel.For(0, parts, p =>
            {
                var (from, n) = PartRows(rows, parts, p);
                if (n <= 0) return;
                gemm.Run(px.AsSpan(from * In, n * In), n, a.AsSpan(from * Out, n * Out), Out, Buffers.Ensure(ref _pixelScratch[p], gemm.ScratchUShorts(n)));
            });
        }
        else
        {
            int words = BitMatrix.WordsFor(In);
            var lut = BinaryLutGemm.Suits(_bits, path) ? new BinaryLutGemm(_bits) : null;
            Parallel.For(0, parts, p =>
            {
                var (from, n) = PartRows(rows, parts, p);
                if (n <= 0) return;
                var x = rowBits.AsSpan(from * words, n * words);
                var rowsOut = a.AsSpan(from * Out, n * Out);
                if (lut is not null) lut.Run(x, n, rowsOut, Out, Buffers.Ensure(ref _lutScratch[p], lut.ScratchBytes));
                else BinaryGemm.Run(path, x, n, _bits, rowsOut, Out);
            });
            if (IsConv)
            {
                // Exact zero padding; the correction depends on this step's weights (flips included).
                var border = new ConvBorder(_bits, _map.Height, _map.Width, _map.Channels);
                Parallel.For(0, count, i => border.Apply(a.AsSpan(i * Positions * Out, Positions * Out), Out));
            }
        }
        var full = Buffers.Ensure(ref _full, a.Length);
        int k = 0;
        for (; k + 16 <= a.Length; k += 16) Vector512.ConvertToSingle(Vector512.Create(a.AsSpan(k, 16))).CopyTo(full.AsSpan(k, 16));
        for (; k < a.Length; k++) full[k] = a[k];
        PreActivations = _pool ? Pool(full, count) : full;
        if (Hidden) BatchNormSign(count * OutputPositions, options, training);
        if (Hidden && IsConv) OutputBits = ImageBits(count);
    }

    /// <summary>
    /// Rows [From, From + Count) of part <paramref name="part"/> when <paramref name="rows"/> rows are split into
    /// <paramref name="parts"/> ranges of whole quads: ceil(rows / parts) rounded up to a multiple of 4 rows per
    /// part, so the parts cover every row (the last ones may be short or empty).
    /// </summary>
    internal static (int From, int Count) PartRows(int rows, int parts, int part)
    {
        int perPart = ((rows + parts - 1) / parts + 3) & ~3;
        int from = Math.Min(rows, part * perPart);
        return (from, Math.Min(rows, from + perPart) - from);
    }

    /// <summary>im2col of every image: patch bytes (first block) or patch bits, and the float patches for the weight gradient (padded taps 0).</summary>
    private (byte[] Pixels, ulong[]? Bits, float[] Floats) Patches(byte[] pixels, ulong[]? bits, float[] input, int count)
    {
        int p = Positions, mapSize = _map.Size, words = BitMatrix.WordsFor(In), mapWords = BitMatrix.WordsFor(mapSize);
        var floats = Buffers.Ensure(ref _patchFloats, count * p * In);
        if (Index == 0)
        {
            var bytes = Buffers.Ensure(ref _patchBytes, count * p * In);
            Parallel.For(0, count, i => Im2Col.Pixels(pixels.AsSpan(i * mapSize, mapSize), _map.Height, _map.Width, _map.Channels, bytes.AsSpan(i * p * In, p * In)));
            for (int j = 0; j < bytes.Length; j++) floats[j] = bytes[j];
            return (bytes, null, floats);
        }
        var patchBits = Buffers.Ensure(ref _patchBits, count * p * words);
        Parallel.For(0, count, i =>
        {
            Im2Col.Bits(bits.AsSpan(i * mapWords, mapWords), _map.Height, _map.Width, _map.Channels, patchBits.AsSpan(i * p * words, p * words), words);
            Im2Col.Floats(input.AsSpan(i * mapSize, mapSize), _map.Height, _map.Width, _map.Channels, floats.AsSpan(i * p * In, p * In));
        });
        return (pixels, patchBits, floats);
    }

    private float[] _patchFloats = [];
    private float[] _pooled = [];

    /// <summary>2x2 max pooling of every image's pre-activations; remembers which input won each output.</summary>
    private float[] Pool(float[] full, int count)
    {
        int h = _map.Height, w = _map.Width, oh = h / 2, ow = w / 2, c = Out;
        var pooled = Buffers.Ensure(ref _pooled, count * oh * ow * c);
        var winner = Buffers.Ensure(ref _winner, pooled.Length);
        Parallel.For(0, count, i =>
        {
            int inBase = i * h * w * c, outBase = i * oh * ow * c;
            for (int y = 0; y < oh; y++)
                for (int x = 0; x < ow; x++)
                    for (int ch = 0; ch < c; ch++)
                    {
                        int best = inBase + ((2 * y) * w + 2 * x) * c + ch;
                        foreach (int d in (ReadOnlySpan<int>)[((2 * y) * w + 2 * x + 1) * c, ((2 * y + 1) * w + 2 * x) * c, ((2 * y + 1) * w + 2 * x + 1) * c])
                            if (full[inBase + d + ch] > full[best]) best = inBase + d + ch;
                        int o = outBase + (y * ow + x) * c + ch;
                        pooled[o] = full[best];
                        winner[o] = best;
                    }
        });
        return pooled;
    }

    /// <summary>The per-position output bits regrouped into one row per image (HWC), as the next block reads them.</summary>
    private ulong[] ImageBits(int count)
    {
        int positions = OutputPositions, rowWords = BitMatrix.WordsFor(Out), imageWords = BitMatrix.WordsFor(positions * Out);
        if (Out % 64 == 0) return OutputBits!; // position rows are whole words: already one image after another
        var bits = Buffers.Ensure(ref _imageBits, count * imageWords);
        Array.Clear(bits);
        var src = OutputBits!;
        Parallel.For(0, count, i =>
        {
            for (int p = 0; p < positions; p++)
                Im2Col.CopyBits(src.AsSpan((i * positions + p) * rowWords, rowWords), 0, bits.AsSpan(i * imageWords, imageWords), p * Out, Out);
        });
        return bits;
    }

    /// <summary>
    /// Per-column sums over the rows of count x Out matrices, in double: sum of x, or of (x - shift)^2 when
    /// <paramref name="squareAround"/> is given, or of x * y when <paramref name="y"/> is given. Column
    /// blocks run on separate threads; each column is summed in row order, so the result never depends on them.
    /// </summary>
    private void ColumnSums(float[] x, int count, double[] sums, float[]? y = null, double[]? squareAround = null) =>
        Parallel.For(0, (Out + 63) / 64, c =>
        {
            int from = c * 64, to = Math.Min(Out, from + 64);
            Span<double> acc = stackalloc double[64];
            acc.Clear();
            for (int r = 0; r < count; r++)
            {
                int row = r * Out;
                if (y is not null)
                    for (int j = from; j < to; j++) acc[j - from] += (double)x[row + j] * y[row + j];
                else if (squareAround is not null)
                    for (int j = from; j < to; j++)
                    {
                        double d = x[row + j] - squareAround[j];
                        acc[j - from] += d * d;
                    }
                else
                    for (int j = from; j < to; j++) acc[j - from] += x[row + j];
            }
            acc[..(to - from)].CopyTo(sums.AsSpan(from, to - from));
        });

    /// <summary>Batch norm on the batch statistics of <see cref="PreActivations"/>, then sign; training also updates the running statistics.</summary>
    internal void BatchNormSign(int count, TrainingOptions options, bool training)
    {
        var a = PreActivations!;
        var mean = new double[Out];
        var variance = new double[Out];
        ColumnSums(a, count, mean);
        for (int j = 0; j < Out; j++) mean[j] /= count;
        ColumnSums(a, count, variance, squareAround: mean);
        for (int j = 0; j < Out; j++) variance[j] /= count;
        if (training)
        {
            double m = options.BatchNormMomentum;
            for (int j = 0; j < Out; j++)
            {
                RunningMean[j] = (1 - m) * RunningMean[j] + m * mean[j];
                RunningVariance[j] = (1 - m) * RunningVariance[j] + m * variance[j] * count / Math.Max(1, count - 1);
            }
        }
        _invStd = new float[Out];
        var meanF = new float[Out];
        for (int j = 0; j < Out; j++)
        {
            _invStd[j] = (float)(1 / Math.Sqrt(variance[j] + options.BatchNormEpsilon));
            meanF[j] = (float)mean[j];
        }
        Buffers.Ensure(ref _normalized, count * Out);
        Buffers.Ensure(ref _z, count * Out);
        Output = Buffers.Ensure(ref _output, count * Out);
        int words = BitMatrix.WordsFor(Out);
        OutputBits = Buffers.Ensure(ref _outputBits, count * words);
        Array.Clear(OutputBits);
        Parallel.For(0, count, r =>
        {
            int row = r * Out, j = 0;
            for (; j + 16 <= Out; j += 16)
            {
                var xhat = (Vector512.Create(a.AsSpan(row + j, 16)) - Vector512.Create(meanF.AsSpan(j, 16))) * Vector512.Create(_invStd.AsSpan(j, 16));
                var z = Vector512.Create(Gamma.AsSpan(j, 16)) * xhat + Vector512.Create(Beta.AsSpan(j, 16));
                var on = Vector512.GreaterThanOrEqual(z, Vector512<float>.Zero);
                xhat.CopyTo(_normalized.AsSpan(row + j, 16));
                z.CopyTo(_z.AsSpan(row + j, 16));
                Vector512.ConditionalSelect(on, Vector512<float>.One, -Vector512<float>.One).CopyTo(Output.AsSpan(row + j, 16));
                OutputBits[r * words + (j >> 6)] |= on.ExtractMostSignificantBits() << (j & 63);
            }
            for (; j < Out; j++)
            {
                float xhat = (a[row + j] - meanF[j]) * _invStd[j];
                float z = Gamma[j] * xhat + Beta[j];
                _normalized[row + j] = xhat;
                _z[row + j] = z;
                Output[row + j] = z >= 0 ? 1f : -1f;
                if (z >= 0) OutputBits[r * words + (j >> 6)] |= 1UL << (j & 63);
            }
        });
    }

    /// <summary>
    /// Weight gradient dW = dA^T X over the rows of the linear product (straight-through: zero where
    /// |latent| &gt; 1; <see cref="Update"/> clips every latent weight, so this only matters for weights set from
    /// outside, such as a checkpoint written by other code); returns the gradient of the block's input when asked. <paramref name="da"/> is the
    /// gradient of <see cref="PreActivations"/> (after pooling); <paramref name="count"/> counts images.
    /// </summary>
    public float[]? Backward(float[] da, int count, int threads, bool needInputGradient)
    {
        int rows = count * Positions;
        var dFull = da;
        if (_pool)
        {
            dFull = Buffers.Ensure(ref _dFull, rows * Out);
            Array.Clear(dFull);
            for (int o = 0; o < da.Length; o++) dFull[_winner[o]] += da[o];
        }
        Gemm.Multiply(Transpose.A, Out, In, rows, dFull, _input, LatentGradient, threads: threads);
        for (int i = 0; i < Latent.Length; i++)
            if (MathF.Abs(Latent[i]) > 1) LatentGradient[i] = 0;
        if (!needInputGradient) return null;
        if (!IsConv)
        {
            var dx = Buffers.Ensure(ref _dx, count * In);
            Gemm.Multiply(Transpose.None, count, In, Out, da, _signs, dx, threads: threads);
            return dx;
        }
        var dPatches = Buffers.Ensure(ref _dPatches, rows * In);
        Gemm.Multiply(Transpose.None, rows, In, Out, dFull, _signs, dPatches, threads: threads);
        var dMap = Buffers.Ensure(ref _dx, count * _map.Size);
        Parallel.For(0, count, i => Im2Col.Scatter(dPatches.AsSpan(i * Positions * In, Positions * In), _map.Height, _map.Width, _map.Channels, dMap.AsSpan(i * _map.Size, _map.Size)));
        return dMap;
    }

    /// <summary>Gradient of the pre-activations from the gradient of this hidden block's outputs: sign (straight-through where |z| &lt;= 1), then batch norm.</summary>
    public float[] BatchNormBackward(float[] dOutput, int images)
    {
        int count = images * OutputPositions;
        var dz = Buffers.Ensure(ref _dz, count * Out);
        for (int i = 0; i < dz.Length; i++) dz[i] = MathF.Abs(_z[i]) <= 1 ? dOutput[i] : 0f;
        var dGamma = new double[Out];
        var dBeta = new double[Out];
        ColumnSums(dz, count, dGamma, y: _normalized);
        ColumnSums(dz, count, dBeta);
        var scale = new float[Out];
        var dBetaF = new float[Out];
        var dGammaF = new float[Out];
        for (int j = 0; j < Out; j++)
        {
            scale[j] = Gamma[j] * _invStd[j] / count;
            dBetaF[j] = (float)dBeta[j];
            dGammaF[j] = (float)dGamma[j];
            GammaGradient[j] = dGammaF[j];
            BetaGradient[j] = dBetaF[j];
        }
        var da = Buffers.Ensure(ref _da, count * Out);
        float n = count;
        Parallel.For(0, count, r =>
        {
            int row = r * Out, j = 0;
            for (; j + 16 <= Out; j += 16)
            {
                var v = Vector512.Create(scale.AsSpan(j, 16)) * (Vector512.Create(n) * Vector512.Create(dz.AsSpan(row + j, 16)) - Vector512.Create(dBetaF.AsSpan(j, 16))
                    - Vector512.Create(_normalized.AsSpan(row + j, 16)) * Vector512.Create(dGammaF.AsSpan(j, 16)));
                v.CopyTo(da.AsSpan(row + j, 16));
            }
            for (; j < Out; j++) da[row + j] = scale[j] * (n * dz[row + j] - dBetaF[j] - _normalized[row + j] * dGammaF[j]);
        });
        return da;
    }

    /// <summary>Adam step on the latent weights (then clipped to [-1, 1]) and the batch norm parameters.</summary>
    public void Update(AdamOptimizer adam, double learningRate)
    {
        adam.Update(_slotWeights, Latent, LatentGradient, learningRate);
        for (int i = 0; i < Latent.Length; i++) Latent[i] = Math.Clamp(Latent[i], -1f, 1f);
        if (!Hidden) return;
        adam.Update(_slotGamma, Gamma, GammaGradient, learningRate);
        adam.Update(_slotBeta, Beta, BetaGradient, learningRate);
    }

    /// <summary>Batch norm with the running statistics, folded into integer thresholds.</summary>
    public ThresholdLayer Threshold(TensorShape shape, double eps) =>
        ThresholdLayer.FromBatchNorm(shape, Gamma.Select(g => (double)g).ToArray(), Beta.Select(b => (double)b).ToArray(), RunningMean, RunningVariance, eps);
}
