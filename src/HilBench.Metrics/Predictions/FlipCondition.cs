namespace HilBench.Metrics.Predictions;

/// <summary>
/// When a thresholded neuron's output changes, in terms of the integer change D of its pre-activation a' = a + 2D (every flipped
/// +-1 term moves a by exactly 2): the output flips iff D &gt;= K (<see cref="Upper"/>) or iff D &lt;= K. Follows ThresholdLayer's
/// tie rule: ascending o = +1 iff a &gt;= tau, descending o = +1 iff a &lt;= tau.
/// </summary>
internal readonly record struct FlipCondition(bool Upper, long K)
{
    /// <summary>The condition for a neuron at clean pre-activation <paramref name="a"/> with threshold tau and orientation.</summary>
    public static FlipCondition Of(long a, long tau, bool ascending)
    {
        if (ascending)
            return a >= tau
                ? new FlipCondition(false, FloorDiv(tau - a - 1, 2)) // +1 -> -1 iff a + 2D < tau iff 2D <= tau - a - 1
                : new FlipCondition(true, -FloorDiv(a - tau, 2)); // -1 -> +1 iff a + 2D >= tau iff D >= ceil((tau - a) / 2)
        return a <= tau
            ? new FlipCondition(true, FloorDiv(tau - a, 2) + 1) // +1 -> -1 iff a + 2D > tau
            : new FlipCondition(false, FloorDiv(tau - a, 2)); // -1 -> +1 iff a + 2D <= tau
    }

    /// <summary>Whether a change D of the integer sum flips the output.</summary>
    public bool Holds(long d) => Upper ? d >= K : d <= K;

    /// <summary>
    /// Normal approximation of the flip probability for a D with mean <paramref name="mean"/> and standard deviation
    /// <paramref name="sd"/> on the integers, with the continuity correction of 1/2 (P(D &gt;= K) ~ P(N &gt; K - 1/2)). A zero
    /// standard deviation means D = mean for sure.
    /// </summary>
    public double NormalProbability(double mean, double sd)
    {
        double z = TailArgument(mean, sd);
        if (z > 9) return 0;
        if (z < -9) return 1;
        return 0.5 * MathNet.Numerics.SpecialFunctions.Erfc(z / Math.Sqrt(2));
    }

    /// <summary>
    /// The z of <see cref="NormalProbability"/> = P(N(0, 1) &gt; z): -infinity when a zero standard deviation makes the flip
    /// certain, +infinity when it makes it impossible. <see cref="NormalTail.Upper"/> turns many of them into probabilities at once.
    /// </summary>
    public double TailArgument(double mean, double sd)
    {
        if (!(sd > 1e-12)) return Holds((long)Math.Round(mean)) ? double.NegativeInfinity : double.PositiveInfinity;
        return Upper ? (K - 0.5 - mean) / sd : (mean - K - 0.5) / sd;
    }

    internal static long FloorDiv(long a, long b) => a / b - ((a % b != 0 && (a < 0) != (b < 0)) ? 1 : 0);
}
