using HilBench.Metrics.Predictions;

namespace HilBench.Metrics.Tests.Support;

/// <summary>The normal approximation of a flip probability in double precision: the reference the single-precision vector code is checked against.</summary>
public static class NormalReference
{
    /// <summary>
    /// P(N(0, 1) &gt; z) = erfc(z / sqrt 2) / 2 with z = <see cref="FlipCondition.TailArgument"/> (continuity correction 1/2; a zero
    /// standard deviation means D = mean for sure); exactly 0 and 1 beyond |z| = 9, as <c>NormalTail.Upper</c>.
    /// </summary>
    internal static double NormalProbability(this FlipCondition condition, double mean, double sd)
    {
        double z = condition.TailArgument(mean, sd);
        if (z > 9) return 0;
        if (z < -9) return 1;
        return 0.5 * MathNet.Numerics.SpecialFunctions.Erfc(z / Math.Sqrt(2));
    }
}
