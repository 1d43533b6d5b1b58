using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using HilBench.Bnn.Data;
using HilBench.Bnn.Inference;
using HilBench.Bnn.Layers;
using HilBench.Bnn.Model;
using HilBench.Bnn.Tensors;
using HilBench.Metrics.Margins;

namespace HilBench.Metrics.Importance;

/// <summary>How <see cref="NeuronImportance"/> evaluates the inverted model for a block.</summary>
internal enum ImportancePath
{
    /// <summary>The block feeds the output layer: each inversion shifts the logits by a known vector.</summary>
    LastHidden,

    /// <summary>Dense block, then a dense hidden block, then the output: only next-block neurons within 2 of their threshold can flip.</summary>
    NextHidden,

    /// <summary>Anything else: the later blocks are re-run from the cached activations with the neuron inverted.</summary>
    Rerun,
}

/// <summary>
/// Neuron importance and the inter-neuron metric IN. For a hidden block, I_j = accuracy(model) -
/// accuracy(model with neuron j's output inverted for every input and position) on an evaluation set;
/// the smoother variant is the drop of the mean output margin (top-1 logit minus runner-up). IN is the
/// population variance of I_j over the block's neurons, reported with the coefficient of variation.
/// </summary>
/// <remarks>
/// No neuron costs a full forward pass. The block's outputs and everything after it are captured once;
/// then, depending on where the block sits (<see cref="PathFor"/>):
/// <list type="bullet">
/// <item>it feeds the output layer: inverting o_j changes logit c by -2 sum_p W[c, p*C+j] o_{p,j}, O(classes) per
/// image and neuron for a dense block;</item>
/// <item>dense block, dense hidden block, output: inverting o_j moves every next-block pre-activation b_k by
/// -2 v_kj o_j, so only next-block neurons within 2 of their threshold (in the right direction) can flip;
/// per image they are listed once, and per neuron the logits are updated by those that do flip;</item>
/// <item>otherwise (conv blocks, deeper stacks) the later blocks are re-run from the modified cached
/// activations with <see cref="InferenceEngine.RunFrom"/>, batched over all images per neuron.</item>
/// </list>
/// All paths reduce to integer totals, so they agree exactly with <see cref="ComputeNaive"/>, whatever the thread count.
/// </remarks>
public static class NeuronImportance
{
    /// <summary>Importances of every neuron of hidden block <paramref name="block"/> on <paramref name="data"/>.</summary>
    /// <param name="threads">Threads (0 = all cores); the result does not depend on it.</param>
    /// <param name="captured">A run of this model on <paramref name="data"/> with <c>captureLayers: true</c>, if one is at hand.</param>
    public static LayerImportance Compute(BnnModel model, ImageSet data, int block, int threads = 0, InferenceResult? captured = null)
    {
        Validate(model, data, block);
        if (threads <= 0) threads = Environment.ProcessorCount;
        captured ??= new InferenceEngine(model).Run(data.Pixels, data.Count, threads, captureLayers: true);
        if (captured.Layers is null || captured.Count != data.Count || captured.Classes != model.Classes || captured.Layers.Count != model.Blocks.Count)
            throw new ArgumentException($"expected a run of this model on the {data.Count} images with captureLayers: true", nameof(captured));

        var clean = new CleanScores(data.Count, captured.LogitsOf, data.Labels);
        var scores = PathFor(model, block) switch
        {
            ImportancePath.LastHidden => LastHidden(model, data, block, captured, clean, threads),
            ImportancePath.NextHidden => NextHidden(model, data, block, captured, clean, threads),
            _ => Rerun(model, data, block, captured, clean, threads),
        };
        return scores.Finish(block, model.LogitScale);
    }

    /// <summary>
    /// The definition, slowly: for each neuron a model whose threshold for that neuron is turned around
    /// (ascending a &gt;= T becomes a &lt;= T-1, descending a &lt;= T becomes a &gt;= T+1) is run through
    /// <see cref="ReferenceInference"/>. Independent of the engine and of every shortcut; for tests.
    /// </summary>
    internal static LayerImportance ComputeNaive(BnnModel model, ImageSet data, int block)
    {
        Validate(model, data, block);
        var reference = ReferenceInference.Run(model, data.Pixels, data.Count);
        var clean = new CleanScores(data.Count, reference.LogitsOf, data.Labels);
        var t = model.Blocks[block].Threshold!;
        int layerIndex = model.Layers.ToList().IndexOf(t);
        var scores = new OutputScores(t.Thresholds.Length, clean);
        for (int j = 0; j < t.Thresholds.Length; j++)
        {
            var thresholds = (int[])t.Thresholds.Clone();
            var ascending = (bool[])t.Ascending.Clone();
            (thresholds[j], ascending[j]) = Inverted(t.Thresholds[j], t.Ascending[j]);
            var layers = model.Layers.ToArray();
            layers[layerIndex] = new ThresholdLayer(t.InputShape, thresholds, ascending);
            var r = ReferenceInference.Run(new BnnModel(model.InputShape, layers, model.LogitScale), data.Pixels, data.Count);
            for (int x = 0; x < data.Count; x++) scores.Add(j, x, r.LogitsOf(x), data.Labels[x]);
        }
        return scores.Finish(block, model.LogitScale);
    }

    /// <summary>
    /// The threshold whose output is the negation for every integer a. At the int limits (a neuron that is always on)
    /// the inverse "never on" is approximated by a &gt;= int.MaxValue, which no real fan-in reaches.
    /// </summary>
    internal static (int Threshold, bool Ascending) Inverted(int threshold, bool ascending)
    {
        if (ascending) return threshold == int.MinValue ? (int.MaxValue, true) : (threshold - 1, false);
        return threshold == int.MaxValue ? (int.MaxValue, true) : (threshold + 1, true);
    }

    /// <summary>Which evaluation the block gets.</summary>
    internal static ImportancePath PathFor(BnnModel model, int block)
    {
        var blocks = model.Blocks;
        if (blocks[block + 1].IsOutput) return ImportancePath.LastHidden;
        if (blocks[block].Linear is BinaryDense && blocks[block + 1].Linear is BinaryDense && block + 2 < blocks.Count && blocks[block + 2].IsOutput)
            return ImportancePath.NextHidden;
        return ImportancePath.Rerun;
    }

    private static void Validate(BnnModel model, ImageSet data, int block)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        if (block < 0 || block >= model.Blocks.Count || model.Blocks[block].IsOutput)
            throw new ArgumentOutOfRangeException(nameof(block), block, $"block must be a hidden block, 0..{model.Blocks.Count - 2}");
        if (data.Count == 0) throw new ArgumentException("importance needs at least one evaluation image", nameof(data));
        if (data.Shape.Size != model.InputShape.Size)
            throw new ArgumentException($"the images are {data.Shape}, the model reads {model.InputShape}", nameof(data));
    }

    /// <summary>
    /// Runs <paramref name="body"/> over the images in chunks on up to <paramref name="threads"/> threads, each with
    /// its own totals, and adds them up (integer sums: the order does not matter).
    /// </summary>
    private static OutputScores OverImages<TLocal>(CleanScores clean, int neurons, int threads, Func<TLocal> init, Action<int, TLocal, OutputScores> body)
    {
        int count = clean.Images;
        var total = new OutputScores(neurons, clean);
        var gate = new object();
        int chunk = Math.Max(1, Math.Min(64, count / (8 * threads) + 1));
        int chunks = (count + chunk - 1) / chunk;
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = threads },
            () => (Local: init(), Scores: new OutputScores(neurons, clean)),
            (c, _, state) =>
            {
                int end = Math.Min(count, (c + 1) * chunk);
                for (int x = c * chunk; x < end; x++) body(x, state.Local, state.Scores);
                return state;
            },
            state =>
            {
                lock (gate) total.AddRange(state.Scores);
            });
        return total;
    }

    /// <summary>Signed weights of a matrix transposed to [column][row], so one input's effect on all outputs is contiguous.</summary>
    private static int[] SignsByColumn(BitMatrix w)
    {
        var t = new int[w.Columns * w.Rows];
        for (int r = 0; r < w.Rows; r++)
            for (int c = 0; c < w.Columns; c++) t[c * w.Rows + r] = w.Sign(r, c);
        return t;
    }

    private static bool Bit(ReadOnlySpan<ulong> row, int i) => (row[i >> 6] >> (i & 63) & 1UL) != 0;

    /// <summary>
    /// (a) The block feeds the output layer. Inverting channel j flips inputs p*C+j of the output layer, which
    /// moves logit c by -2 W[c, i] o_i for each of them.
    /// </summary>
    private static OutputScores LastHidden(BnnModel model, ImageSet data, int block, InferenceResult captured, CleanScores cleanScores, int threads)
    {
        var outs = captured.Layers![block].Outputs!;
        int channels = model.Blocks[block].OutputShape.Channels, size = outs.Columns, classes = model.Classes;
        var signs = SignsByColumn(model.Blocks[block + 1].Linear.Weights);
        return OverImages(cleanScores, channels, threads, () => (Delta: new int[channels * classes], Logits: new int[classes]),
            (x, local, scores) =>
            {
                var (delta, logits) = local;
                Array.Clear(delta);
                var o = outs.Row(x);
                for (int i = 0; i < size; i++)
                {
                    int g = Bit(o, i) ? -2 : 2;
                    var d = delta.AsSpan(i % channels * classes, classes);
                    var s = signs.AsSpan(i * classes, classes);
                    for (int c = 0; c < classes; c++) d[c] += g * s[c];
                }
                var clean = captured.LogitsOf(x);
                int label = data.Labels[x];
                for (int j = 0; j < channels; j++)
                {
                    var d = delta.AsSpan(j * classes, classes);
                    for (int c = 0; c < classes; c++) logits[c] = clean[c] + d[c];
                    scores.Add(j, x, logits, label);
                }
            });
    }

    /// <summary>
    /// (b) Dense block l, dense hidden block l+1, output block l+2. Inverting o_j moves each b_k of block l+1 by
    /// -2 v_kj o_j, so k can only flip if b_k is within 2 of its threshold on the side that move reaches.
    /// Per image those fragile k are found once; the inversions j that flip k are the set bits of
    /// (v_k XOR o), or of its complement, and each of them adds k's logit change -2 W[c,k] o_k to j's row of a
    /// per-image table. Each j is then scored from the clean logits plus its row.
    /// </summary>
    private static OutputScores NextHidden(BnnModel model, ImageSet data, int block, InferenceResult captured, CleanScores cleanScores, int threads)
    {
        var outs = captured.Layers![block].Outputs!;
        var next = captured.Layers[block + 1];
        var nextOuts = next.Outputs!;
        var v = model.Blocks[block + 1].Linear.Weights;
        var t = model.Blocks[block + 1].Threshold!;
        int neurons = outs.Columns, words = outs.WordsPerRow, nextSize = v.Rows, classes = model.Classes;
        int stride = (classes + Vector512<int>.Count - 1) / Vector512<int>.Count * Vector512<int>.Count;
        var signs = SignsByColumn(model.Blocks[block + 2].Linear.Weights);
        ulong lastMask = neurons % 64 == 0 ? ulong.MaxValue : (1UL << (neurons % 64)) - 1;

        return OverImages(cleanScores, neurons, threads, () => new NextHiddenScratch(neurons, words, stride, classes),
            (x, s, scores) =>
            {
                var b = next.PreActivationsOf(x);
                var o = outs.Row(x);
                var o1 = nextOuts.Row(x);
                Array.Clear(s.Any);
                for (int k = 0; k < nextSize; k++)
                {
                    // A flip needs a move of -2 (v_kj o_j = +1) when down, +2 (v_kj o_j = -1) when up.
                    var (down, need) = NeuronLevelMetric.Requirement(b[k], t.Thresholds[k], t.Ascending[k]);
                    if (need > 2) continue;
                    int g = Bit(o1, k) ? -2 : 2;
                    var sk = signs.AsSpan(k * classes, classes);
                    for (int c = 0; c < classes; c++) s.Shift[c] = g * sk[c];
                    // j flips k iff v_kj == (down ? +1 : -1) * o_j: in bits v == o when down, v != o when up.
                    var vk = v.Row(k);
                    ulong flipAll = down ? ulong.MaxValue : 0UL;
                    for (int w = 0; w < words; w++)
                    {
                        ulong m = vk[w] ^ o[w] ^ flipAll;
                        if (w == words - 1) m &= lastMask;
                        s.Any[w] |= m;
                        for (; m != 0; m &= m - 1) s.AddShift(((w << 6) + System.Numerics.BitOperations.TrailingZeroCount(m)) * stride);
                    }
                }

                var clean = captured.LogitsOf(x);
                int label = data.Labels[x];
                var logits = s.Logits;
                for (int j = 0; j < neurons; j++)
                {
                    if ((s.Any[j >> 6] >> (j & 63) & 1UL) == 0) continue; // no next-block neuron flips: the output is the clean one
                    var row = s.Delta.AsSpan(j * stride, stride);
                    for (int c = 0; c < classes; c++) logits[c] = clean[c] + row[c];
                    row.Clear();
                    scores.Add(j, x, logits, label);
                }
            });
    }

    /// <summary>Per-thread table for <see cref="NextHidden"/>: one row of logit changes per inverted neuron, cleared as it is scored.</summary>
    private sealed class NextHiddenScratch(int neurons, int words, int stride, int classes)
    {
        public int[] Delta { get; } = new int[neurons * stride];
        public int[] Shift { get; } = new int[stride];
        public ulong[] Any { get; } = new ulong[words];
        public int[] Logits { get; } = new int[classes];

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void AddShift(int offset)
        {
            ref int delta = ref MemoryMarshal.GetArrayDataReference(Delta);
            ref int shift = ref MemoryMarshal.GetArrayDataReference(Shift);
            for (int i = 0; i < Shift.Length; i += Vector512<int>.Count)
                (Vector512.LoadUnsafe(ref delta, (nuint)(offset + i)) + Vector512.LoadUnsafe(ref shift, (nuint)i))
                    .StoreUnsafe(ref delta, (nuint)(offset + i));
        }
    }

    /// <summary>(c) Re-runs blocks l+1.. from the cached outputs of block l with channel j inverted at every position.</summary>
    private static OutputScores Rerun(BnnModel model, ImageSet data, int block, InferenceResult captured, CleanScores clean, int threads)
    {
        var outs = captured.Layers![block].Outputs!;
        int channels = model.Blocks[block].OutputShape.Channels;
        var engine = new InferenceEngine(model);
        var work = outs.Clone();
        var mask = new ulong[outs.WordsPerRow];
        var scores = new OutputScores(channels, clean);
        for (int j = 0; j < channels; j++)
        {
            Array.Clear(mask);
            for (int i = j; i < outs.Columns; i += channels) mask[i >> 6] |= 1UL << (i & 63);
            outs.Words.CopyTo(work.Words, 0);
            for (int r = 0; r < outs.Rows; r++)
            {
                var row = work.Row(r);
                for (int w = 0; w < row.Length; w++) row[w] ^= mask[w];
            }
            var result = engine.RunFrom(block + 1, work, threads);
            for (int x = 0; x < data.Count; x++) scores.Add(j, x, result.LogitsOf(x), data.Labels[x]);
        }
        return scores;
    }
}
