using System.Runtime.Intrinsics;
using HilBench.Bnn.Errors;
using HilBench.Bnn.Kernels;
using HilBench.Bnn.Layers;
using HilBench.Bnn.Tensors;

namespace HilBench.Bnn.Training;

/// <summary>
/// One dense block during training: latent weights, batch norm parameters and running statistics, and
/// what the current step's forward pass left for the backward pass.
/// </summary>
internal sealed class DenseBlock
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


    public DenseBlock(int index, int fanIn, int outputs, bool hidden, Random init, AdamOptimizer adam)
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
        var a = Buffers.Ensure(ref _intPre, count * Out);
        // Row ranges of whole quads run in parallel, each with its own scratch: the kernels are exact, so the split changes nothing.
        int parts = Math.Max(1, Math.Min(threads, count / 4));
        if (_pixelScratch.Length < parts)
        {
            _pixelScratch = new ushort[parts][];
            _lutScratch = new byte[parts][];
            for (int p = 0; p < parts; p++) (_pixelScratch[p], _lutScratch[p]) = ([], []);
        }
        int rowsPerPart = (count / parts + 3) & ~3;
        var px = pixels.ToArray();
        if (Index == 0)
        {
            var gemm = new PixelGemm(path, _bits);
            Parallel.For(0, parts, p =>
            {
                int from = p * rowsPerPart, rows = Math.Min(count, from + rowsPerPart) - from;
                if (rows <= 0) return;
                gemm.Run(px.AsSpan(from * In, rows * In), rows, a.AsSpan(from * Out, rows * Out), Out, Buffers.Ensure(ref _pixelScratch[p], gemm.ScratchUShorts(rows)));
            });
        }
        else
        {
            int words = BitMatrix.WordsFor(In);
            var lut = path == KernelPath.Vector512 && BinaryLutGemm.IsSupported && Out >= 32 ? new BinaryLutGemm(_bits) : null;
            Parallel.For(0, parts, p =>
            {
                int from = p * rowsPerPart, rows = Math.Min(count, from + rowsPerPart) - from;
                if (rows <= 0) return;
                var x = bits.AsSpan(from * words, rows * words);
                var rowsOut = a.AsSpan(from * Out, rows * Out);
                if (lut is not null) lut.Run(x, rows, rowsOut, Out, Buffers.Ensure(ref _lutScratch[p], lut.ScratchBytes));
                else BinaryGemm.Run(path, x, rows, _bits, rowsOut, Out);
            });
        }
        _input = input;
        PreActivations = Buffers.Ensure(ref _pre, a.Length);
        int i = 0;
        for (; i + 16 <= a.Length; i += 16) Vector512.ConvertToSingle(Vector512.Create(a.AsSpan(i, 16))).CopyTo(PreActivations.AsSpan(i, 16));
        for (; i < a.Length; i++) PreActivations[i] = a[i];
        if (Hidden) BatchNormSign(count, options, training);
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

    /// <summary>Weight gradient dW = dA^T X (straight-through: zero where |latent| &gt; 1); returns dX = dA W when asked.</summary>
    public float[]? Backward(float[] da, int count, int threads, bool needInputGradient)
    {
        Gemm.Multiply(Transpose.A, Out, In, count, da, _input, LatentGradient, threads: threads);
        for (int i = 0; i < Latent.Length; i++)
            if (MathF.Abs(Latent[i]) > 1) LatentGradient[i] = 0;
        if (!needInputGradient) return null;
        var dx = Buffers.Ensure(ref _dx, count * In);
        Gemm.Multiply(Transpose.None, count, In, Out, da, _signs, dx, threads: threads);
        return dx;
    }

    /// <summary>Gradient of the pre-activations from the gradient of this hidden block's outputs: sign (straight-through where |z| &lt;= 1), then batch norm.</summary>
    public float[] BatchNormBackward(float[] dOutput, int count)
    {
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
