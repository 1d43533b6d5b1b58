using System.Numerics;
using HilBench.Bnn.Layers;
using HilBench.Bnn.Model;
using HilBench.Bnn.Tensors;
using HilBench.Bnn.Training;
using HilBench.Metrics.Margins;

namespace HilBench.Metrics.Predictions;

public static partial class AccuracyPrediction
{
    /// <summary>
    /// P(the pooled output bit differs from the error-free one) for one 2x2 max-pool window followed by the threshold, when member k
    /// (clean pre-pool pre-activation <paramref name="a"/>[k]) changes its own thresholded bit with probability <paramref name="q"/>[k],
    /// independently of the others. The engine pools the integer pre-activations before the threshold, so with tau = T (ascending)
    /// or T + 1 (descending) the window is high (+1 ascending, -1 descending) iff max a &gt;= tau, iff some member alone is high. A high
    /// window flips iff every high member flips and no other member does: prod over high q_k times prod over the others (1 - q_k);
    /// a low one iff any member flips: 1 - prod (1 - q_k). Exact under the independence; computed in single precision by the
    /// vector code the conv blocks use.
    /// </summary>
    internal static double PooledFlipProbability(ReadOnlySpan<int> a, ReadOnlySpan<double> q, int threshold, bool ascending)
    {
        var tau = new Vector<float>(Tau(threshold, ascending));
        var pool = PoolOf.Start;
        for (int k = 0; k < a.Length; k++)
            pool = pool.Add(Vector.GreaterThanOrEqual(new Vector<float>(a[k]), tau), new Vector<float>((float)q[k]));
        return pool.Result[0];
    }

    /// <summary>
    /// P(a thresholded output at clean pre-activation <paramref name="a"/> flips) for a' = a + 2D with D ~ N(mean, sd^2) taken on the
    /// integers: P(N(0, 1) &gt; z) with z from <see cref="FlipCondition.TailArgument"/>, computed in single precision by the vector code
    /// the conv blocks use.
    /// </summary>
    internal static double MemberFlipProbability(int a, int threshold, bool ascending, double mean, double sd) =>
        MemberFlip(new Vector<float>(a), new Vector<float>(Tau(threshold, ascending)), new Vector<float>((float)mean), new Vector<float>((float)sd))[0];

    /// <summary>Where each output position of a 3x3 conv block reads, and which pre-pool positions each output position pools.</summary>
    private sealed class ConvGeometry
    {
        public ConvGeometry(BnnBlock block, BinaryConv2d conv)
        {
            Input = new ConvTaps(conv);
            var s = conv.InputShape;
            var o = block.OutputShape;
            Windows = new int[o.Height * o.Width][];
            for (int oy = 0; oy < o.Height; oy++)
                for (int ox = 0; ox < o.Width; ox++)
                    Windows[oy * o.Width + ox] = block.Pool is null
                        ? [oy * s.Width + ox]
                        : [2 * oy * s.Width + 2 * ox, 2 * oy * s.Width + 2 * ox + 1, (2 * oy + 1) * s.Width + 2 * ox, (2 * oy + 1) * s.Width + 2 * ox + 1];
        }

        /// <summary>The taps each pre-pool position reads.</summary>
        public ConvTaps Input { get; }

        /// <summary>Per output position (after pooling), the pre-pool positions whose maximum it takes (one without pooling).</summary>
        public int[][] Windows { get; }
    }

    private sealed partial class Context
    {
        /// <summary>Columns of the float products per batch of images within a chunk (keeps the im2col rows at a few MB).</summary>
        private const int BatchColumns = 4096;

        /// <summary>
        /// Flip probabilities [image][output position][channel] of a conv block (its pooled outputs if it pools) for images m0..m1;
        /// <paramref name="qIn"/> holds its inputs' flip probabilities (unused for pixels).
        /// </summary>
        public float[] ConvBlock(BnnBlock block, BinaryConv2d conv, int m0, int m1, float[]? qIn) =>
            block.ReadsPixels ? PixelConv(block, conv, m0, m1) : BinaryConv(block, conv, m0, m1, qIn!);

        /// <summary>
        /// The pixel conv block: the inputs are exact, so a window's pooled output is a function of the flips among the n weights of
        /// its channel alone. Weight sets of up to two flips are enumerated exactly (pooling included); the rest of the mass goes through
        /// per-position normal approximations conditioned on three or more flips, pooled as if independent.
        /// </summary>
        private float[] PixelConv(BnnBlock block, BinaryConv2d conv, int m0, int m1)
        {
            var geo = _geometry[block.Index]!;
            int c = m1 - m0, outs = conv.Outputs, outSize = block.OutputShape.Size;
            int[] captured = _captured.Layers![block.Index].PreActivations;
            var windows = new PixelWindows(conv, block.Threshold!, _p01, _p10);
            var q = new float[c * outSize];
            for (int m = 0; m < c; m++)
            {
                int image = m0 + m;
                var x = _data.Image(image);
                for (int w = 0; w < geo.Windows.Length; w++)
                    if (!windows.Solve(geo, w, x, captured.AsSpan(image * outSize + w * outs, outs), q.AsSpan(m * outSize + w * outs, outs)))
                        throw Mismatch(block, image);
            }
            return q;
        }

        /// <summary>
        /// Flip probabilities of a conv block with +-1 inputs: per pre-pool position, the dense approximation over its in-map taps
        /// (normal D with exact mean and variance), then pooling with independent members.
        /// </summary>
        private float[] BinaryConv(BnnBlock block, BinaryConv2d conv, int m0, int m1, float[] qIn)
        {
            var geo = _geometry[block.Index]!;
            int c = m1 - m0, n = conv.FanIn, outs = conv.Outputs, positions = geo.Input.Positions, padded = Padded(outs);
            int cin = conv.InputShape.Channels, inSize = conv.InputShape.Size, outSize = block.OutputShape.Size;
            int sources = conv.InputShape.Height * conv.InputShape.Width;
            int cols = _symmetric ? 1 : 2;
            var t = block.Threshold!;
            int[] captured = _captured.Layers![block.Index].PreActivations;
            var inputs = _captured.Layers[block.Index - 1].Outputs!;
            int batch = Math.Clamp(BatchColumns / (positions * cols), 1, Chunk);
            double p = _p01;

            var bag = _convBuffers[block.Index];
            var buffers = bag.TryTake(out var reused) ? reused : new ConvBuffers(inSize, sources, batch * positions, cols, n, outs, positions, padded);
            var (v1, v2, s1, s2) = (buffers.V1, buffers.V2, buffers.S1, buffers.S2);
            var (rows, g, sum1, sum2, pre) = (buffers.Rows, buffers.G, buffers.Sum1, buffers.Sum2, buffers.Pre);
            var (a, mean, sd, member) = (buffers.A, buffers.Mean, buffers.Sd, buffers.Member);
            var patch = new ulong[geo.Input.PatchWords];
            var tau = TauOf(t, padded);
            var q = new float[c * outSize];
            var ones = _ones[block.Index]!;

            for (int b0 = 0; b0 < c; b0 += batch)
            {
                int nb = Math.Min(batch, c - b0), columns = nb * positions * cols;
                for (int bi = 0; bi < nb; bi++)
                {
                    var row = inputs.Row(m0 + b0 + bi);
                    for (int src = 0, i = 0; src < sources; src++)
                    {
                        double t1 = 0, t2 = 0;
                        for (int ch = 0; ch < cin; ch++, i++)
                        {
                            double x = (row[i >> 6] >> (i & 63) & 1) != 0 ? 1 : -1, qi = qIn[(b0 + bi) * inSize + i];
                            if (_symmetric)
                            {
                                double r = _p01 + qi * (1 - 2 * _p01);
                                v1[i] = (float)(x * qi);
                                t1 += x * qi;
                                t2 += r * (1 - r);
                            }
                            else
                            {
                                double r1 = _p10 + qi * (1 - 2 * _p10), r0 = _p01 + qi * (1 - 2 * _p01);
                                v1[i] = (float)(x * (r1 + r0));
                                v2[i] = (float)(r1 * (1 - r1) - r0 * (1 - r0));
                                t1 += x * r0;
                                t2 += r0 * (1 - r0);
                            }
                        }
                        s1[src] = t1;
                        s2[src] = t2;
                    }
                    for (int pos = 0; pos < positions; pos++)
                    {
                        int at = bi * positions + pos;
                        var r1 = rows.AsSpan(at * cols * n, n);
                        var r2 = cols == 2 ? rows.AsSpan((at * cols + 1) * n, n) : default;
                        double a1 = 0, a2 = 0;
                        Array.Clear(patch);
                        foreach (var (tap, source) in geo.Input.Taps[pos])
                        {
                            int from = source * cin, to = tap * cin;
                            v1.AsSpan(from, cin).CopyTo(r1[to..]);
                            if (cols == 2) v2.AsSpan(from, cin).CopyTo(r2[to..]);
                            a1 += s1[source];
                            a2 += s2[source];
                            PackedBits.Copy(row, from, patch, to, cin);
                        }
                        sum1[at] = a1;
                        sum2[at] = a2;
                        // Exact a over the in-map taps: n_valid - 2 popcount((w XOR x) AND valid).
                        var mask = geo.Input.ValidMask.AsSpan(pos * geo.Input.PatchWords, geo.Input.PatchWords);
                        for (int o = 0; o < outs; o++)
                        {
                            var w = conv.Weights.Row(o);
                            int differ = 0;
                            for (int k = 0; k < patch.Length; k++) differ += BitOperations.PopCount((w[k] ^ patch[k]) & mask[k]);
                            pre[at * padded + o] = geo.Input.ValidTerms[pos] - 2 * differ;
                        }
                    }
                }
                // g[column, o] = sum over the +1 weights of channel o of the column's row: the 0/1 product of the dense case.
                Gemm.Multiply(Transpose.B, columns, outs, n, rows.AsSpan(0, columns * n), ones, g.AsSpan(0, columns * outs), threads: 1);

                for (int bi = 0; bi < nb; bi++)
                {
                    int image = m0 + b0 + bi;
                    for (int pos = 0; pos < positions; pos++)
                    {
                        int at = bi * positions + pos;
                        double a1 = sum1[at], a2 = sum2[at], sdSymmetric = Math.Sqrt(a2);
                        var gAt = g.AsSpan(at * cols * outs, cols * outs);
                        for (int o = 0; o < outs; o++)
                        {
                            int i = pos * padded + o, ai = pre[at * padded + o];
                            a[i] = ai;
                            if (_symmetric)
                            {
                                // E[D] = -(p a + (1 - 2p) sum w x q), with sum w x q = 2 g - sum x q.
                                mean[i] = (float)-(p * ai + (1 - 2 * p) * (2 * gAt[o] - a1));
                                sd[i] = (float)sdSymmetric;
                            }
                            else
                            {
                                mean[i] = (float)-(gAt[o] - a1);
                                sd[i] = (float)Math.Sqrt(Math.Max(0, gAt[outs + o] + a2));
                            }
                        }
                    }
                    for (int i = 0; i < member.Length; i += Vector<float>.Count)
                    {
                        int o = i % padded;
                        var flip = MemberFlip(new Vector<float>(a, i), new Vector<float>(tau, o), new Vector<float>(mean, i), new Vector<float>(sd, i));
                        flip.CopyTo(member, i);
                    }
                    var imagePre = pre.AsSpan(bi * positions * padded, positions * padded);
                    var cleanPooled = captured.AsSpan(image * outSize, outSize);
                    for (int w = 0; w < geo.Windows.Length; w++)
                    {
                        var window = geo.Windows[w];
                        for (int o = 0; o < outs; o++)
                        {
                            int max = int.MinValue;
                            foreach (int pos in window) max = Math.Max(max, imagePre[pos * padded + o]);
                            if (max != cleanPooled[w * outs + o])
                                throw Mismatch(block, image);
                        }
                        var qOut = q.AsSpan((b0 + bi) * outSize + w * outs, outs);
                        for (int o0 = 0; o0 < padded; o0 += Vector<float>.Count)
                        {
                            var pool = PoolOf.Start;
                            foreach (int pos in window)
                            {
                                var high = Vector.GreaterThanOrEqual(new Vector<float>(a, pos * padded + o0), new Vector<float>(tau, o0));
                                pool = pool.Add(high, new Vector<float>(member, pos * padded + o0));
                            }
                            var result = pool.Result;
                            for (int o = o0; o < Math.Min(outs, o0 + Vector<float>.Count); o++) qOut[o] = result[o - o0];
                        }
                    }
                }
            }
            bag.Add(buffers);
            return q;
        }
    }

    /// <summary>
    /// The large buffers of <see cref="Context.BinaryConv"/>, kept between chunks: fresh ones cost page faults on every chunk. Their
    /// contents never carry over: every entry read is written first, and the im2col rows are only ever written at in-map taps of
    /// the same positions, so their padded taps stay 0.
    /// </summary>
    private sealed class ConvBuffers(int inSize, int sources, int columns, int cols, int n, int outs, int positions, int padded)
    {
        /// <summary>Per input element, the values gathered into the im2col rows.</summary>
        public float[] V1 { get; } = new float[inSize];
        public float[] V2 { get; } = new float[inSize];
        /// <summary>Per input position, the sums over its channels of the values summed per output position.</summary>
        public double[] S1 { get; } = new double[sources];
        public double[] S2 { get; } = new double[sources];
        public float[] Rows { get; } = new float[columns * cols * n];
        public float[] G { get; } = new float[columns * cols * outs];
        /// <summary>Per position of the batch, S1 and S2 summed over its in-map taps.</summary>
        public double[] Sum1 { get; } = new double[columns];
        public double[] Sum2 { get; } = new double[columns];
        /// <summary>Exact pre-pool pre-activations [image][position][padded channel].</summary>
        public int[] Pre { get; } = new int[columns * padded];
        /// <summary>Per position of one image and padded channel: a, E[D], sd(D), and P(the position's own thresholded bit flips).</summary>
        public float[] A { get; } = new float[positions * padded];
        public float[] Mean { get; } = new float[positions * padded];
        public float[] Sd { get; } = new float[positions * padded];
        public float[] Member { get; } = new float[positions * padded];
    }

    private static ArgumentException Mismatch(BnnBlock block, int image) =>
        new($"block {block.Index}: the captured pre-activations do not match the model (image {image}); was 'captured' run on this model?");

    /// <summary>Channels rounded up to whole vectors of ints (and of floats).</summary>
    private static int Padded(int channels) => (channels + Vector<int>.Count - 1) / Vector<int>.Count * Vector<int>.Count;

    /// <summary>Per padded channel, tau such that an output is high iff a &gt;= tau (see <see cref="MemberFlip"/>); padding lanes never are.</summary>
    private static float[] TauOf(ThresholdLayer t, int padded)
    {
        var tau = new float[padded];
        Array.Fill(tau, float.PositiveInfinity);
        for (int o = 0; o < t.Thresholds.Length; o++) tau[o] = Tau(t.Thresholds[o], t.Ascending[o]);
        return tau;
    }

    /// <summary>
    /// The output is high (+1 ascending, -1 descending) iff a &gt;= tau. Exact in single precision for the |a| &lt; 2^24 that
    /// pre-activations reach; a threshold beyond that only meets far smaller a, on the same side either way.
    /// </summary>
    private static float Tau(int threshold, bool ascending) => (long)threshold + (ascending ? 0 : 1);

    /// <summary>
    /// P(a position's own thresholded bit flips) for a' = a + 2D with D ~ N(mean, sd^2) on the integers, continuity correction 1/2
    /// (<see cref="FlipCondition"/>'s rule on a vector): a high position (a &gt;= tau) flips iff a + 2D &lt;= tau - 1, i.e.
    /// D &lt;= floor((tau - 1 - a) / 2), another iff D &gt;= ceil((tau - a) / 2).
    /// </summary>
    private static Vector<float> MemberFlip(Vector<float> a, Vector<float> tau, Vector<float> mean, Vector<float> sd)
    {
        var half = new Vector<float>(0.5f);
        var inverse = Vector<float>.One / Vector.Max(sd, new Vector<float>(1e-30f)); // sd 0: D = mean, the score is +-infinity
        var high = Vector.GreaterThanOrEqual(a, tau);
        var lower = Vector.Floor((tau - Vector<float>.One - a) * half) + half;
        var upper = Vector.Ceiling((tau - a) * half) - half;
        return NormalTail.Upper(Vector.ConditionalSelect(high, mean - lower, upper - mean) * inverse);
    }

    /// <summary><see cref="PooledFlipProbability"/> on vectors of channels, accumulated member by member.</summary>
    private readonly record struct PoolOf(Vector<float> AllHighFlip, Vector<float> NoneFlips, Vector<int> AnyHigh)
    {
        public static PoolOf Start => new(Vector<float>.One, Vector<float>.One, Vector<int>.Zero);

        public PoolOf Add(Vector<int> high, Vector<float> flip) => new(
            AllHighFlip * Vector.ConditionalSelect(high, flip, Vector<float>.One - flip),
            NoneFlips * (Vector<float>.One - flip),
            AnyHigh | high);

        public Vector<float> Result => Vector.ConditionalSelect(AnyHigh, AllHighFlip, Vector<float>.One - NoneFlips);
    }

    /// <summary>
    /// The pixel conv block's pooled flip probabilities, one window of one image at a time, for all channels at once (SIMD over
    /// channels). A window reads exact pixels, so its pooled output depends only on which of its channel's n weights flip; only the
    /// live columns matter (those through which some member position reads a non-zero pixel).
    /// </summary>
    private sealed class PixelWindows
    {
        /// <summary>Below this, the mass of three or more flipped weights is dropped (its contribution is at most this).</summary>
        private const double RemainderCutoff = 1e-9;

        private static readonly int Lanes = Vector<int>.Count;

        private readonly int _n, _outs, _padded, _cin;
        private readonly double _p01, _p10, _rho0, _rho1;
        private readonly int[] _plus;      // [column][padded channel]: -1 where the weight is +1, else 0
        private readonly int[] _tau;       // [padded channel]: the window is high (output decided by any member) iff max a >= tau
        private readonly double[] _keep1, _keep0; // (1 - p10)^i, (1 - p01)^i

        // The window being solved.
        private int _members, _k;
        private readonly int[] _full;      // [member][column]: the pixel read, 0 at padded taps
        private readonly int[] _x;         // [member][live column j]: the pixel read
        private readonly Vector<int>[] _moves; // [live column j][member]: the change of a when weight j flips, per channel
        private readonly int[] _live;
        private readonly int[] _sumX = new int[4], _sumX2 = new int[4];

        // Per lane of one vector of channels.
        private readonly double[] _exact = new double[Lanes], _rest = new double[Lanes];
        private readonly float[] _restF = new float[Lanes], _zF = new float[Lanes], _sum1F = new float[Lanes], _pooled = new float[Lanes];

        public PixelWindows(BinaryConv2d conv, ThresholdLayer t, double p01, double p10)
        {
            _n = conv.FanIn;
            _outs = conv.Outputs;
            _padded = (_outs + Lanes - 1) / Lanes * Lanes;
            _cin = conv.InputShape.Channels;
            _p01 = p01;
            _p10 = p10;
            // A rate of 1 makes every set with that weight unflipped impossible (z = 0): all mass goes to the remainder, where
            // rho no longer matters; 0 keeps the arithmetic finite.
            _rho0 = p01 >= 1 ? 0 : p01 / (1 - p01);
            _rho1 = p10 >= 1 ? 0 : p10 / (1 - p10);
            _plus = new int[_n * _padded];
            for (int o = 0; o < _outs; o++)
                for (int col = 0; col < _n; col++)
                    if (conv.Weights[o, col]) _plus[col * _padded + o] = -1;
            _tau = new int[_padded];
            Array.Fill(_tau, int.MaxValue); // padding lanes are never high
            for (int o = 0; o < _outs; o++)
                _tau[o] = (int)Math.Min(int.MaxValue, (long)t.Thresholds[o] + (t.Ascending[o] ? 0 : 1));
            _keep1 = new double[_n + 1];
            _keep0 = new double[_n + 1];
            _keep1[0] = _keep0[0] = 1;
            for (int i = 1; i <= _n; i++)
            {
                _keep1[i] = _keep1[i - 1] * (1 - p10);
                _keep0[i] = _keep0[i - 1] * (1 - p01);
            }
            _full = new int[4 * _n];
            _x = new int[4 * _n];
            _moves = new Vector<int>[4 * _n];
            _live = new int[_n];
        }

        /// <summary>
        /// Writes P(flip) of window <paramref name="window"/>'s outputs (all channels) to <paramref name="q"/>; returns false when
        /// the recomputed pooled pre-activations differ from <paramref name="clean"/>.
        /// </summary>
        public bool Solve(ConvGeometry geo, int window, ReadOnlySpan<byte> pixels, ReadOnlySpan<int> clean, Span<float> q)
        {
            Load(geo, window, pixels);
            int members = _members, k = _k, padded = _padded, outs = _outs;
            if (k == 0)
            {
                // Blank: every member sums to 0 and no flip moves it.
                foreach (int v in clean)
                    if (v != 0) return false;
                q.Clear();
                return true;
            }
            Span<Vector<int>> a = stackalloc Vector<int>[4];
            Span<Vector<int>> x1 = stackalloc Vector<int>[4];
            Span<Vector<int>> q1 = stackalloc Vector<int>[4];
            Span<Vector<int>> moved = stackalloc Vector<int>[4];
            Span<Vector<int>> down = stackalloc Vector<int>[4];
            Span<Vector<int>> up = stackalloc Vector<int>[4];
            var zero = Vector<int>.Zero;
            for (int o0 = 0; o0 < padded; o0 += Lanes)
            {
                var tau = new Vector<int>(_tau, o0);
                var max = new Vector<int>(int.MinValue);
                var reachable = zero;
                var plusLive = zero;
                for (int j = 0; j < k; j++) plusLive -= new Vector<int>(_plus, _live[j] * padded + o0);
                // Per member: a, the sums of x and x^2 behind +1 weights, and the two largest pixels behind +1 (-1) weights, whose
                // flips move a down (up) the most.
                for (int u = 0; u < members; u++)
                {
                    Vector<int> s1 = zero, sq1 = zero, d1 = zero, d2 = zero, u1 = zero, u2 = zero;
                    for (int j = 0; j < k; j++)
                    {
                        var plus = new Vector<int>(_plus, _live[j] * padded + o0);
                        int x = _x[u * _n + j];
                        var onPlus = plus & new Vector<int>(x);
                        var onMinus = Vector.AndNot(new Vector<int>(x), plus);
                        s1 += onPlus;
                        sq1 += plus & new Vector<int>(x * x);
                        d2 = Vector.Max(d2, Vector.Min(d1, onPlus));
                        d1 = Vector.Max(d1, onPlus);
                        u2 = Vector.Max(u2, Vector.Min(u1, onMinus));
                        u1 = Vector.Max(u1, onMinus);
                    }
                    a[u] = s1 * 2 - new Vector<int>(_sumX[u]); // sum over +1 weights minus sum over -1 weights
                    x1[u] = s1;
                    q1[u] = sq1;
                    down[u] = (d1 + d2) * 2; // flipping w moves a by -2 w x
                    up[u] = (u1 + u2) * 2;
                    max = Vector.Max(max, a[u]);
                }
                for (int o = o0; o < Math.Min(outs, o0 + Lanes); o++)
                    if (max[o - o0] != clean[o]) return false;
                var high = Vector.GreaterThanOrEqual(max, tau);
                for (int u = 0; u < members; u++)
                {
                    // High: the maximum must fall below tau, which needs >= a - tau + 1 down; low: any member may rise to tau.
                    var isMax = Vector.Equals(a[u], max);
                    var canFall = Vector.GreaterThanOrEqual(down[u], a[u] - tau + Vector<int>.One);
                    var canRise = Vector.GreaterThanOrEqual(up[u], tau - a[u]);
                    reachable |= Vector.ConditionalSelect(high, isMax & canFall, canRise);
                }

                // Every set of one or two live flips, counted by the signs of the flipped weights: one +1, one -1, and pairs with
                // none, one or two +1 weights. The window flips iff its highness changes.
                Vector<int> c1p = zero, c1m = zero, c20 = zero, c21 = zero, c22 = zero;
                if (!Vector.EqualsAll(reachable, zero))
                {
                    // The move of each member's a when one live weight flips: -2 w x, i.e. -2x behind a +1 weight, +2x behind a -1.
                    for (int j = 0; j < k; j++)
                    {
                        var pj = new Vector<int>(_plus, _live[j] * padded + o0);
                        for (int u = 0; u < members; u++)
                        {
                            var twice = new Vector<int>(2 * _x[u * _n + j]);
                            _moves[j * 4 + u] = twice - (pj & (twice + twice));
                        }
                    }
                    for (int j = 0; j < k; j++)
                    {
                        var pj = new Vector<int>(_plus, _live[j] * padded + o0);
                        var top = new Vector<int>(int.MinValue);
                        for (int u = 0; u < members; u++)
                        {
                            moved[u] = a[u] + _moves[j * 4 + u];
                            top = Vector.Max(top, moved[u]);
                        }
                        var flip = Vector.GreaterThanOrEqual(top, tau) ^ high;
                        c1p -= flip & pj;
                        c1m -= Vector.AndNot(flip, pj);
                        for (int l = j + 1; l < k; l++)
                        {
                            var pl = new Vector<int>(_plus, _live[l] * padded + o0);
                            var top2 = new Vector<int>(int.MinValue);
                            for (int u = 0; u < members; u++) top2 = Vector.Max(top2, moved[u] + _moves[l * 4 + u]);
                            var flip2 = Vector.GreaterThanOrEqual(top2, tau) ^ high;
                            c22 -= flip2 & pj & pl;
                            c21 -= flip2 & (pj ^ pl);
                            c20 -= Vector.AndNot(flip2, pj | pl);
                        }
                    }
                }
                // Per channel, in double: z = P(no live weight flips), the exact mass of the sets of one or two flips that flip the
                // window, and rest = P(three or more flips) = 1 - z (1 + e1 + e2) with e1 = sum rho, e2 = (e1^2 - sum rho^2) / 2.
                bool anyRest = false;
                double r1 = _rho1, r0 = _rho0;
                for (int i = 0; i < Lanes; i++)
                {
                    int pl = plusLive[i], mi = k - pl;
                    double z = _keep1[pl] * _keep0[mi];
                    double sum1 = pl * r1 + mi * r0, sum2 = pl * r1 * r1 + mi * r0 * r0;
                    double rest = 1 - z * (1 + sum1 + (sum1 * sum1 - sum2) / 2);
                    _exact[i] = z * (r1 * c1p[i] + r0 * c1m[i] + r0 * r0 * c20[i] + r0 * r1 * c21[i] + r1 * r1 * c22[i]);
                    _rest[i] = rest >= RemainderCutoff ? rest : 0;
                    _restF[i] = rest >= RemainderCutoff ? (float)rest : 1;
                    _zF[i] = (float)z;
                    _sum1F[i] = (float)sum1;
                    anyRest |= rest >= RemainderCutoff;
                }
                if (anyRest) Remainder(a, x1, q1, tau).CopyTo(_pooled);
                int count = Math.Min(Lanes, outs - o0);
                for (int i = 0; i < count; i++) q[o0 + i] = (float)(_exact[i] + (_rest[i] > 0 ? _rest[i] * _pooled[i] : 0));
            }
            return true;
        }

        private void Load(ConvGeometry geo, int window, ReadOnlySpan<byte> pixels)
        {
            var members = geo.Windows[window];
            _members = members.Length;
            int n = _n, cin = _cin;
            var full = _full;
            Array.Clear(full);
            for (int u = 0; u < _members; u++)
            {
                int sx = 0, sx2 = 0;
                foreach (var (tap, source) in geo.Input.Taps[members[u]])
                    for (int ch = 0; ch < cin; ch++)
                    {
                        int v = pixels[source * cin + ch];
                        full[u * n + tap * cin + ch] = v;
                        sx += v;
                        sx2 += v * v;
                    }
                _sumX[u] = sx;
                _sumX2[u] = sx2;
            }
            _k = 0;
            for (int col = 0; col < n; col++)
            {
                bool live = false;
                for (int u = 0; u < _members; u++) live |= full[u * n + col] != 0;
                if (live) _live[_k++] = col;
            }
            for (int u = 0; u < _members; u++)
                for (int j = 0; j < _k; j++) _x[u * n + j] = full[u * n + _live[j]];
        }

        /// <summary>
        /// P(pooled flip | three or more flips) for a vector of channels: per member, D (a' = a + 2D) conditioned on three or more
        /// flips is taken as normal with its exact conditional mean and variance (the unconditional moments minus those of the sets
        /// of at most two flips, divided by rest), with the continuity correction, and the members are pooled as if independent
        /// (<see cref="PooledFlipProbability"/>). Where z = 0 (a weight that always flips) it is the plain normal approximation.
        /// Single precision: the subtraction loses about eps / rest relatively, so below rest = 1e-6 the result is only good to a
        /// few digits, and it is weighted by rest.
        /// </summary>
        private Vector<float> Remainder(ReadOnlySpan<Vector<int>> aInt, ReadOnlySpan<Vector<int>> x1Int, ReadOnlySpan<Vector<int>> q1Int,
            Vector<int> tauInt)
        {
            float p1 = (float)_p10, p0 = (float)_p01, r1 = (float)_rho1, r0 = (float)_rho0;
            var z = new Vector<float>(_zF);
            var sum1 = new Vector<float>(_sum1F);
            var inverseRest = Vector<float>.One / new Vector<float>(_restF);
            var tau = Vector.ConvertToSingle(tauInt);
            var pool = PoolOf.Start;
            for (int u = 0; u < _members; u++)
            {
                var a = Vector.ConvertToSingle(aInt[u]);
                var x1 = Vector.ConvertToSingle(x1Int[u]);
                var q1 = Vector.ConvertToSingle(q1Int[u]);
                // Sums of x and x^2 behind +1 weights (flip rate p10, term -x) and behind -1 weights (rate p01, term +x).
                var x0 = new Vector<float>(_sumX[u]) - x1;
                var q0 = new Vector<float>(_sumX2[u]) - q1;
                var mean = x0 * p0 - x1 * p1;
                var second = q1 * (p1 * (1 - p1)) + q0 * (p0 * (1 - p0)) + mean * mean;
                // Sets of one flip weigh z rho_i, of two z rho_i rho_l. With b = sum rho c, rb = sum rho^2 c (c = the term) and
                // cc, rc likewise for c^2, their first moment is z (b + sum1 b - rb), their second z (cc + sum1 cc + b^2 - 2 rc).
                var b = x0 * r0 - x1 * r1;
                var rb = x0 * (r0 * r0) - x1 * (r1 * r1);
                var cc = q1 * r1 + q0 * r0;
                var rc = q1 * (r1 * r1) + q0 * (r0 * r0);
                mean = (mean - z * (b + sum1 * b - rb)) * inverseRest;
                second = (second - z * (cc + sum1 * cc + b * b - 2 * rc)) * inverseRest;
                var sd = Vector.SquareRoot(Vector.Max(Vector<float>.Zero, second - mean * mean));
                pool = pool.Add(Vector.GreaterThanOrEqual(a, tau), MemberFlip(a, tau, mean, sd));
            }
            return pool.Result;
        }
    }
}
