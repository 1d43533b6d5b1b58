using MathNet.Numerics;

namespace HilBench.Metrics.Predictions;

/// <summary>
/// A probability mass function on the integers Offset .. Offset + Length - 1, with prefix and suffix sums for tail look-ups.
/// Binomial pmfs are truncated: values below <see cref="Cutoff"/> (1e-15) are dropped from both ends (the pmf is unimodal, so
/// what remains is one interval); the mass lost is at most n * 1e-15 per binomial, far below anything measurable.
/// </summary>
internal sealed class Pmf
{
    public const double Cutoff = 1e-15;

    private readonly double[] _atMost;
    private readonly double[] _atLeast;

    public Pmf(int offset, double[] p)
    {
        if (p.Length == 0) throw new ArgumentException("a pmf needs at least one value");
        Offset = offset;
        P = p;
        _atMost = new double[p.Length];
        _atLeast = new double[p.Length];
        double s = 0;
        for (int i = 0; i < p.Length; i++) _atMost[i] = s += p[i];
        s = 0;
        for (int i = p.Length - 1; i >= 0; i--) _atLeast[i] = s += p[i];
    }

    public int Offset { get; }

    public double[] P { get; }

    public int Length => P.Length;

    /// <summary>Largest value with (non-truncated) mass.</summary>
    public int Last => Offset + P.Length - 1;

    public double this[long k] => k < Offset || k > Last ? 0 : P[k - Offset];

    public double AtMost(long k) => k < Offset ? 0 : k >= Last ? _atMost[^1] : _atMost[k - Offset];

    public double AtLeast(long k) => k > Last ? 0 : k <= Offset ? _atLeast[0] : _atLeast[k - Offset];

    public double Probability(FlipCondition c) => c.Upper ? AtLeast(c.K) : AtMost(c.K);

    /// <summary>Binomial(n, p), truncated below 1e-15.</summary>
    public static Pmf Binomial(int n, double p)
    {
        var (offset, values) = BinomialValues(n, p);
        return new Pmf(offset, values);
    }

    /// <summary>The values of Binomial(n, p) that are at least 1e-15, starting at the returned offset.</summary>
    public static (int Offset, double[] Values) BinomialValues(int n, double p)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        if (!(p >= 0 && p <= 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "a probability must be in [0, 1]");
        if (n == 0 || p == 0) return (0, [1.0]);
        if (p == 1) return (n, [1.0]);
        double lp = Math.Log(p), lq = Math.Log(1 - p);
        double Ln(int k) => SpecialFunctions.BinomialLn(n, k) + k * lp + (n - k) * lq;
        int mode = (int)Math.Clamp(Math.Floor((n + 1) * p), 0, n);
        double logCut = Math.Log(Cutoff);
        int lo = mode, hi = mode;
        while (lo > 0 && Ln(lo - 1) >= logCut) lo--;
        while (hi < n && Ln(hi + 1) >= logCut) hi++;
        var v = new double[hi - lo + 1];
        for (int k = lo; k <= hi; k++) v[k - lo] = Math.Exp(Ln(k));
        return (lo, v);
    }

    /// <summary>The pmf of Y - X for independent Y (this) and X.</summary>
    public static Pmf Difference(Pmf y, Pmf x)
    {
        var r = new double[y.Length + x.Length - 1];
        // d = yv - xv; index of d = (y.Offset + i) - (x.Last - j') with j' = x.Length - 1 - jx.
        for (int jx = 0; jx < x.Length; jx++)
        {
            double px = x.P[jx];
            int shift = x.Length - 1 - jx;
            for (int i = 0; i < y.Length; i++) r[i + shift] += px * y.P[i];
        }
        return new Pmf(y.Offset - x.Last, r);
    }

    /// <summary>
    /// The change D of a binary neuron's integer sum when each of <paramref name="agreeing"/> terms (w_i x_i = +1) and each of
    /// <paramref name="disagreeing"/> terms flips independently with probability <paramref name="p"/>: D = Y - X with
    /// X ~ Bin(agreeing, p), Y ~ Bin(disagreeing, p), so a' = a + 2D.
    /// </summary>
    public static Pmf FlipChange(int agreeing, int disagreeing, double p) => Difference(Binomial(disagreeing, p), Binomial(agreeing, p));
}
