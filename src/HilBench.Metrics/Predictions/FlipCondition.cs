namespace HilBench.Metrics.Predictions;

/// <summary>
/// When a thresholded neuron's output changes, in terms of the integer change D of its pre-activation a' = a + 2D (every flipped
/// +-1 term moves a by exactly 2): the output flips iff D &gt;= K (<see cref="Upper"/>) or iff D &lt;= K. Follows ThresholdLayer's
/// tie rule: ascending o = +1 iff a &gt;= tau, descending o = +1 iff a &lt;= tau.
/// </summary>
internal readonly record struct FlipCondition(bool Upper, long K)
{
    /// <summary>
    /// The condition for a neuron at clean pre-activation <paramref name="a"/> with threshold tau and orientation: the output flips
    /// iff a moves by at least need (<see cref="Margins.NeuronLevelMetric.Requirement"/>, the one place the tie rule is written) the
    /// right way, i.e. iff 2|D| &gt;= need with D of that sign: D &lt;= -ceil(need / 2) downwards, D &gt;= ceil(need / 2) upwards.
    /// </summary>
    public static FlipCondition Of(long a, long tau, bool ascending)
    {
        var (down, need) = Margins.NeuronLevelMetric.Requirement(a, tau, ascending);
        long k = (need + 1) / 2; // need >= 1
        return down ? new FlipCondition(false, -k) : new FlipCondition(true, k);
    }

    /// <summary>Whether a change D of the integer sum flips the output.</summary>
    public bool Holds(long d) => Upper ? d >= K : d <= K;

    /// <summary>
    /// The z of the normal approximation of the flip probability, P(flip) ~ P(N(0, 1) &gt; z), for a D with mean
    /// <paramref name="mean"/> and standard deviation <paramref name="sd"/> on the integers, with the continuity correction of 1/2
    /// (P(D &gt;= K) ~ P(N &gt; K - 1/2)): -infinity when a zero standard deviation makes the flip certain (D = mean for sure),
    /// +infinity when it makes it impossible. <see cref="NormalTail.Upper"/> turns many of them into probabilities at once.
    /// </summary>
    public double TailArgument(double mean, double sd)
    {
        if (!(sd > 1e-12)) return Holds((long)Math.Round(mean)) ? double.NegativeInfinity : double.PositiveInfinity;
        return Upper ? (K - 0.5 - mean) / sd : (mean - K - 0.5) / sd;
    }

    internal static long FloorDiv(long a, long b) => a / b - ((a % b != 0 && (a < 0) != (b < 0)) ? 1 : 0);
}
