using System.Numerics;
using System.Runtime.ExceptionServices;
using HilBench.Bnn.Data;
using HilBench.Bnn.Inference;
using HilBench.Bnn.Layers;
using HilBench.Bnn.Model;
using HilBench.Bnn.Tensors;

namespace HilBench.Metrics.Margins;

/// <summary>
/// Flips-to-change of every sample of one hidden block, counted over images in parallel. Dense blocks
/// need only the captured pre-activations (+-1 inputs) or the pixels (first block); conv blocks
/// recompute their pre-pooling pre-activations to find the window position that attains the maximum,
/// and check them against the captured pooled values on the way.
/// </summary>
internal static class FlipCounts
{
    public static (IntegerDistribution? Flips, long Unreachable, FlipCountMethod Method) Of(
        BnnBlock block, InferenceResult captured, ImageSet? pixels, int threads)
    {
        if (block.ReadsPixels && pixels is null) return (null, 0, FlipCountMethod.NotComputed);
        var method = block.Pool is not null ? FlipCountMethod.PooledConvApproximation : FlipCountMethod.Exact;
        var layers = captured.Layers!;
        Action<Tally, int> perImage = block.Linear switch
        {
            BinaryDense when !block.ReadsPixels => BinaryInputs(block, layers[block.Index]),
            BinaryDense => PixelDense(block, layers[block.Index], pixels!),
            BinaryConv2d conv => new ConvCounter(block, conv, layers[block.Index],
                block.ReadsPixels ? pixels! : null, block.ReadsPixels ? null : layers[block.Index - 1].Outputs!).Count,
            _ => throw new NotSupportedException(block.Linear.Kind),
        };

        var total = new IntegerDistribution(block.Linear.FanIn);
        long unreachable = 0;
        var gate = new object();
        int count = captured.Count;
        int chunk = Math.Max(1, Math.Min(256, count / (4 * threads) + 1));
        int chunks = (count + chunk - 1) / chunk;
        try
        {
            Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = threads }, () => new Tally(block.Linear.FanIn),
                (c, _, tally) =>
                {
                    int end = Math.Min(count, (c + 1) * chunk);
                    for (int x = c * chunk; x < end; x++) perImage(tally, x);
                    return tally;
                },
                tally =>
                {
                    lock (gate)
                    {
                        total.AddRange(tally.Flips);
                        unreachable += tally.Unreachable;
                    }
                });
        }
        catch (AggregateException e)
        {
            // A mismatch between captured activations and the model is the caller's error; report it as such.
            ExceptionDispatchInfo.Capture(e.Flatten().InnerExceptions[0]).Throw();
        }
        return (total, unreachable, method);
    }

    /// <summary>Per-thread counts; integer sums, so the merge order does not matter.</summary>
    internal sealed class Tally(int fanIn)
    {
        public IntegerDistribution Flips { get; } = new(fanIn);

        public long Unreachable { get; set; }

        /// <summary>Per-thread buffers of the conv counter (pre-pooling map, pixel patches).</summary>
        public int[] Lin { get; set; } = [];

        public byte[] Patches { get; set; } = [];

        /// <summary>Per position: the patch's non-zero columns, largest pixel first, and how many there are.</summary>
        public int[] PatchOrder { get; set; } = [];

        public int[] PatchNonZero { get; set; } = [];

        public void Add(int flips)
        {
            if (flips == NeuronLevelMetric.Unreachable) Unreachable++;
            else Flips.Add(flips);
        }
    }

    /// <summary>+-1 inputs, no pooling: the count follows from a and the fan-in alone.</summary>
    private static Action<Tally, int> BinaryInputs(BnnBlock block, LayerActivations act)
    {
        var t = block.Threshold!;
        int n = block.Linear.FanIn;
        return (tally, x) =>
        {
            var pre = act.PreActivationsOf(x);
            for (int j = 0; j < pre.Length; j++) tally.Add(NeuronLevelMetric.FlipsToChange(pre[j], t.Thresholds[j], t.Ascending[j], n));
        };
    }

    /// <summary>
    /// 8-bit pixels into a dense layer: per image the pixels are sorted once (largest first); per neuron the
    /// greedy then walks them and takes those whose weight sign moves a the right way.
    /// </summary>
    private static Action<Tally, int> PixelDense(BnnBlock block, LayerActivations act, ImageSet pixels)
    {
        var t = block.Threshold!;
        var w = block.Linear.Weights;
        int words = w.WordsPerRow;
        return (tally, x) =>
        {
            var image = pixels.Image(x);
            var order = SortedByValue(image);
            var pre = act.PreActivationsOf(x);
            for (int j = 0; j < pre.Length; j++)
            {
                var (down, need) = NeuronLevelMetric.Requirement(pre[j], t.Thresholds[j], t.Ascending[j]);
                tally.Add(NeuronLevelMetric.Greedy(new PackedRowTerms(image, w.Words.AsSpan(j * words, words)), order, down, need));
            }
        };
    }

    /// <summary>Pixels times a packed weight row (bit 1 = +1): term i is positive iff its pixel is non-zero and its weight +1.</summary>
    private readonly ref struct PackedRowTerms(ReadOnlySpan<byte> pixels, ReadOnlySpan<ulong> row) : NeuronLevelMetric.ITerms
    {
        private readonly ReadOnlySpan<byte> _pixels = pixels;
        private readonly ReadOnlySpan<ulong> _row = row;

        public long Size(int i) => _pixels[i];

        public bool Positive(int i) => (_row[i >> 6] >> (i & 63) & 1UL) != 0;
    }

    /// <summary>A patch's pixels times a neuron's weight signs (+1 or -1).</summary>
    private readonly ref struct SignedTerms(ReadOnlySpan<byte> pixels, ReadOnlySpan<sbyte> signs) : NeuronLevelMetric.ITerms
    {
        private readonly ReadOnlySpan<byte> _pixels = pixels;
        private readonly ReadOnlySpan<sbyte> _signs = signs;

        public long Size(int i) => _pixels[i];

        public bool Positive(int i) => _signs[i] > 0;
    }

    /// <summary>Indices of the non-zero pixels, largest value first (counting sort, stable by index).</summary>
    private static int[] SortedByValue(ReadOnlySpan<byte> image)
    {
        Span<int> start = stackalloc int[257];
        foreach (byte p in image) start[256 - p]++;
        // Bucket b holds value 256 - b, so bucket 0 is unused and bucket 256 is value 0 (dropped).
        int nonZero = image.Length - start[256];
        for (int b = 1; b < 257; b++) start[b] += start[b - 1];
        var order = new int[nonZero];
        Span<int> next = stackalloc int[257];
        next[0] = 0;
        for (int b = 1; b < 257; b++) next[b] = start[b - 1];
        for (int i = 0; i < image.Length; i++)
        {
            if (image[i] == 0) continue;
            order[next[256 - image[i]]++] = i;
        }
        return order;
    }

    /// <summary>Conv blocks: recomputes each image's pre-pooling map, then counts at the position(s) of the maximum.</summary>
    private sealed class ConvCounter
    {
        private readonly BnnBlock _block;
        private readonly BinaryConv2d _conv;
        private readonly LayerActivations _act;
        private readonly ImageSet? _pixels;
        private readonly BitMatrix? _inputs;
        private readonly TensorShape _in;
        private readonly int _outs;
        private readonly int[] _validTerms;      // per position: valid taps x input channels
        private readonly ulong[] _validMask;     // per position: patch words with the valid taps' bits set
        private readonly (int Tap, int Source)[][] _taps; // per position: in-map taps and the position they read
        private readonly sbyte[] _signs;         // pixel blocks: weights as +-1, [out][column]
        private readonly int[] _signsByColumn;   // the same, [column][out]

        public ConvCounter(BnnBlock block, BinaryConv2d conv, LayerActivations act, ImageSet? pixels, BitMatrix? inputs)
        {
            _block = block;
            _conv = conv;
            _act = act;
            _pixels = pixels;
            _inputs = inputs;
            _in = conv.InputShape;
            _outs = conv.Outputs;
            var taps = new ConvTaps(conv);
            _validTerms = taps.ValidTerms;
            _validMask = taps.ValidMask;
            _taps = taps.Taps;
            _signs = new sbyte[pixels is null ? 0 : _outs * conv.FanIn];
            _signsByColumn = new int[_signs.Length];
            for (int o = 0; o < _outs && pixels is not null; o++)
                for (int i = 0; i < conv.FanIn; i++)
                {
                    _signs[o * conv.FanIn + i] = (sbyte)conv.Weights.Sign(o, i);
                    _signsByColumn[i * _outs + o] = conv.Weights.Sign(o, i);
                }
        }

        public void Count(Tally tally, int image)
        {
            int positions = _in.Height * _in.Width, n = _conv.FanIn;
            if (tally.Lin.Length < positions * _outs) tally.Lin = new int[positions * _outs];
            var lin = tally.Lin;
            byte[]? patches = null;
            if (_pixels is not null)
            {
                if (tally.Patches.Length < positions * n) tally.Patches = new byte[positions * n];
                if (tally.PatchOrder.Length < positions * n) tally.PatchOrder = new int[positions * n];
                if (tally.PatchNonZero.Length < positions) tally.PatchNonZero = new int[positions];
                patches = tally.Patches;
                Array.Clear(patches);
                var px = _pixels.Image(image);
                int cin = _in.Channels;
                for (int p = 0; p < positions; p++)
                {
                    foreach (var (tap, source) in _taps[p])
                        px.Slice(source * cin, cin).CopyTo(patches.AsSpan(p * n + tap * cin, cin));
                    // Every output at once: lin[p, :] += pixel * signs[:, i], blank pixels skipped.
                    var patch = patches.AsSpan(p * n, n);
                    tally.PatchNonZero[p] = SortByValue(patch, tally.PatchOrder.AsSpan(p * n, n));
                    var row = lin.AsSpan(p * _outs, _outs);
                    row.Clear();
                    for (int i = 0; i < n; i++)
                    {
                        int v = patch[i];
                        if (v == 0) continue;
                        var column = _signsByColumn.AsSpan(i * _outs, _outs);
                        int o = 0;
                        for (; o + Vector<int>.Count <= _outs; o += Vector<int>.Count)
                            (new Vector<int>(row[o..]) + v * new Vector<int>(column[o..])).CopyTo(row[o..]);
                        for (; o < _outs; o++) row[o] += v * column[o];
                    }
                }
            }
            else
            {
                var input = _inputs!.Row(image);
                int pw = _conv.Weights.WordsPerRow, cin = _in.Channels;
                var patch = new ulong[pw];
                for (int p = 0; p < positions; p++)
                {
                    Array.Clear(patch);
                    foreach (var (tap, source) in _taps[p]) PackedBits.Copy(input, source * cin, patch, tap * cin, cin);
                    var mask = _validMask.AsSpan(p * pw, pw);
                    for (int o = 0; o < _outs; o++)
                    {
                        var w = _conv.Weights.Row(o);
                        int differ = 0;
                        for (int k = 0; k < pw; k++) differ += BitOperations.PopCount((w[k] ^ patch[k]) & mask[k]);
                        lin[p * _outs + o] = _validTerms[p] - 2 * differ;
                    }
                }
            }

            var t = _block.Threshold!;
            var pre = _act.PreActivationsOf(image);
            var outShape = _block.OutputShape;
            Span<int> window = stackalloc int[4];
            for (int q = 0; q < outShape.Height * outShape.Width; q++)
            {
                int used;
                if (_block.Pool is null)
                {
                    window[0] = q;
                    used = 1;
                }
                else
                {
                    int oy = q / outShape.Width, ox = q % outShape.Width;
                    used = 0;
                    for (int dy = 0; dy < 2; dy++)
                        for (int dx = 0; dx < 2; dx++)
                            window[used++] = (2 * oy + dy) * _in.Width + 2 * ox + dx;
                }
                for (int o = 0; o < _outs; o++)
                {
                    int max = int.MinValue;
                    for (int k = 0; k < used; k++) max = Math.Max(max, lin[window[k] * _outs + o]);
                    if (max != pre[q * _outs + o])
                        throw new ArgumentException($"block {_block.Index}: captured pre-activations do not match the model (image {image})");
                    int best = NeuronLevelMetric.Unreachable;
                    for (int k = 0; k < used && best > 1; k++)
                    {
                        int p = window[k];
                        if (lin[p * _outs + o] != max) continue;
                        if (patches is not null && tally.PatchNonZero[p] == 0) continue; // blank: no flip moves a
                        int flips = patches is null
                            ? NeuronLevelMetric.FlipsToChange(max, t.Thresholds[o], t.Ascending[o], _validTerms[p])
                            : PixelFlips(new SignedTerms(patches.AsSpan(p * n, n), _signs.AsSpan(o * n, n)), tally.PatchOrder.AsSpan(p * n, tally.PatchNonZero[p]),
                                max, t.Thresholds[o], t.Ascending[o]);
                        best = Math.Min(best, flips);
                    }
                    tally.Add(best);
                }
            }
        }

        /// <summary>The greedy count on one patch whose non-zero columns are given largest pixel first.</summary>
        private static int PixelFlips(SignedTerms terms, ReadOnlySpan<int> order, int a, int threshold, bool ascending)
        {
            var (down, need) = NeuronLevelMetric.Requirement(a, threshold, ascending);
            return NeuronLevelMetric.Greedy(terms, order, down, need);
        }

        /// <summary>Writes the indices of the non-zero values, largest first (insertion sort: patches are short), and returns their number.</summary>
        private static int SortByValue(ReadOnlySpan<byte> patch, Span<int> order)
        {
            int m = 0;
            for (int i = 0; i < patch.Length; i++)
            {
                byte v = patch[i];
                if (v == 0) continue;
                int at = m++;
                while (at > 0 && patch[order[at - 1]] < v)
                {
                    order[at] = order[at - 1];
                    at--;
                }
                order[at] = i;
            }
            return m;
        }
    }
}
