using MathNet.Numerics.Distributions;
using MathNet.Numerics.Statistics;

namespace HilBench.Metrics.Statistics;

/// <summary>
/// A metric's correlation with a tolerance measure over n models, with 95% confidence intervals:
/// Pearson's r and Spearman's rho (ranks with ties averaged), and the two-sided p-value of rho (<see cref="SpearmanP"/>). Intervals
/// are NaN when n &lt;= 3 (the Fisher z standard error needs n - 3 &gt; 0) and when the coefficient is +-1 (the Fisher interval
/// collapses to a point there, which says nothing about how sure the correlation is); the coefficients and the p-value are NaN when a
/// side is constant.
/// </summary>
public sealed record Correlation(string Metric, string Tolerance, int N, double Pearson, double PearsonLow, double PearsonHigh,
    double Spearman, double SpearmanLow, double SpearmanHigh, double SpearmanP);

/// <summary>Correlations and intervals for the metric-versus-tolerance study.</summary>
public static class Correlations
{
    /// <summary>The two-sided 95% normal quantile, 1.95996...</summary>
    private static readonly double Z975 = Normal.InvCDF(0, 1, 0.975);

    /// <summary>
    /// Pearson and Spearman correlation of <paramref name="x"/> (the metric) with <paramref name="y"/> (the tolerance), each with a
    /// 95% interval from the Fisher z transform: z = atanh(r), interval tanh(z -/+ 1.96 se). For Pearson se = 1/sqrt(n - 3); for
    /// Spearman the Bonett-Wright (2000) standard error se = sqrt((1 + rho^2/2) / (n - 3)), which Fieller, Hartley and Pearson's
    /// 1.06/sqrt(n - 3) under-states for large rho. Ties get average ranks (MathNet's Correlation.Spearman ranks with
    /// RankDefinition.Average; a test checks it against hand-computed ranks). With n &lt;= 3 or |r| = 1 the intervals are NaN. The
    /// p-value of rho is <see cref="SpearmanPValue"/>.
    /// </summary>
    public static Correlation Compute(string metric, string tolerance, IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (x.Count != y.Count) throw new ArgumentException($"the metric has {x.Count} values but the tolerance {y.Count}; they must pair up model by model");
        int n = x.Count;
        double pearson = n < 2 ? double.NaN : MathNet.Numerics.Statistics.Correlation.Pearson(x, y);
        double spearman = n < 2 ? double.NaN : MathNet.Numerics.Statistics.Correlation.Spearman(x, y);
        var (pl, ph) = FisherInterval(pearson, n, 1.0);
        var (sl, sh) = FisherInterval(spearman, n, Math.Sqrt(1 + spearman * spearman / 2));
        return new Correlation(metric, tolerance, n, pearson, pl, ph, spearman, sl, sh, n < 2 || double.IsNaN(spearman) ? double.NaN : SpearmanPValue(x, y));
    }

    /// <summary>
    /// tanh(atanh(r) -/+ 1.96 * factor / sqrt(n - 3)); NaN when n &lt;= 3, r is NaN, or |r| = 1 (to rounding), where the interval
    /// would be the point [r, r].
    /// </summary>
    private static (double Low, double High) FisherInterval(double r, int n, double factor)
    {
        if (n <= 3 || double.IsNaN(r) || Math.Abs(r) >= 1 - 1e-12) return (double.NaN, double.NaN);
        double z = Math.Atanh(r), half = Z975 * factor / Math.Sqrt(n - 3);
        return (Math.Tanh(z - half), Math.Tanh(z + half));
    }

    /// <summary>The largest n whose p-value enumerates every ordering (9! = 362,880).</summary>
    public const int ExactSpearmanMaxN = 9;

    /// <summary>
    /// Two-sided p-value of Spearman's rho under the hypothesis that the pairing of x and y is random: for n &lt;= 9 exactly, the
    /// share of all n! orderings of y's ranks (ties averaged, as in rho) whose |rho| is at least the observed one; beyond, the
    /// t approximation t = rho sqrt((n - 2) / (1 - rho^2)) with n - 2 degrees of freedom. A perfect order of 5 models has p = 2/120.
    /// NaN when a side is constant.
    /// </summary>
    public static double SpearmanPValue(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (x.Count != y.Count) throw new ArgumentException($"the metric has {x.Count} values but the tolerance {y.Count}; they must pair up model by model");
        int n = x.Count;
        if (n < 2) return double.NaN;
        // Centred average ranks: rho is sum(cx * cy) / sqrt(sum cx^2 * sum cy^2), and only the numerator changes with the ordering.
        // Ranks are multiples of 1/2, so every sum below is exact.
        double[] cx = Centred(x), cy = Centred(y);
        double sxx = cx.Sum(v => v * v), syy = cy.Sum(v => v * v);
        if (sxx == 0 || syy == 0) return double.NaN;
        double observed = Math.Abs(Dot(cx, cy));
        if (n > ExactSpearmanMaxN)
        {
            double rho = Math.Clamp(observed / Math.Sqrt(sxx * syy), 0, 1);
            if (rho == 1) return 0;
            double t = rho * Math.Sqrt((n - 2) / (1 - rho * rho));
            return 2 * StudentT.CDF(0, 1, n - 2, -t);
        }
        // Heap's algorithm over the orderings of cy.
        long atLeast = 0, total = 0;
        var c = new int[n];
        void Count()
        {
            total++;
            if (Math.Abs(Dot(cx, cy)) >= observed - 1e-9) atLeast++;
        }
        Count();
        for (int i = 1; i < n;)
        {
            if (c[i] < i)
            {
                int j = i % 2 == 0 ? 0 : c[i];
                (cy[j], cy[i]) = (cy[i], cy[j]);
                Count();
                c[i]++;
                i = 1;
            }
            else
            {
                c[i] = 0;
                i++;
            }
        }
        return (double)atLeast / total;
    }

    private static double[] Centred(IReadOnlyList<double> values)
    {
        var ranks = values.Ranks(RankDefinition.Average);
        double mean = (values.Count + 1) / 2.0;
        return ranks.Select(r => r - mean).ToArray();
    }

    private static double Dot(double[] a, double[] b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++) sum += a[i] * b[i];
        return sum;
    }

    /// <summary>
    /// Mean with a two-sided 95% Student-t interval over fractions such as the accuracies of Monte-Carlo error patterns:
    /// mean -/+ t(0.975, n - 1) * s / sqrt(n) with s the sample standard deviation (n - 1 in the denominator), cut to [0, 1]
    /// (with few, very unequal patterns the symmetric interval can leave the range an accuracy can have). With fewer than two
    /// values the interval is NaN (an empty list also has a NaN mean).
    /// </summary>
    public static (double Mean, double Low, double High) MeanInterval(IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        int n = values.Count;
        if (n == 0) return (double.NaN, double.NaN, double.NaN);
        double mean = values.Average();
        if (n < 2) return (mean, double.NaN, double.NaN);
        double sd = Math.Sqrt(values.Sum(a => (a - mean) * (a - mean)) / (n - 1));
        double half = StudentT.InvCDF(0, 1, n - 1, 0.975) * sd / Math.Sqrt(n);
        return (mean, Math.Max(0, mean - half), Math.Min(1, mean + half));
    }
}
