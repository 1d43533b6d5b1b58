using System.Numerics;
using System.Runtime.InteropServices;
using HilBench.Memory.Profiles;

namespace HilBench.Calibration.Fit;

/// <summary>The block-offset models compared by AIC.</summary>
public enum Heterogeneity
{
    None,
    Normal,
    TwoClass,
}

/// <summary>A point in the model's parameter space (natural units: volts or ns, shares as probabilities).</summary>
internal readonly record struct ModelParameters(
    double Mean, double Sigma, double StuckAtZeroShare, double TemperatureCoefficient, double VoltageSensitivity,
    Heterogeneity Kind, double BlockSigma, double WeakShare, double WeakOffset)
{
    /// <summary>The block-offset distribution these parameters describe.</summary>
    public BlockOffsets Offsets => Kind switch
    {
        Heterogeneity.Normal => new BlockOffsets(BlockOffsetDistribution.Normal, Sigma: BlockSigma),
        Heterogeneity.TwoClass => new BlockOffsets(BlockOffsetDistribution.TwoClass, WeakShare: WeakShare, WeakOffset: WeakOffset),
        _ => BlockOffsets.None,
    };

    /// <summary>Block offsets as quadrature nodes (<see cref="CellFailureModel.OffsetNodes"/>) and log weights.</summary>
    public (double[] Offsets, double[] LogWeights) Nodes()
    {
        var (offsets, weights) = CellFailureModel.OffsetNodes(Offsets);
        return (offsets, weights.Select(w => Math.Log(w)).ToArray());
    }
}

/// <summary>
/// The log-likelihood of the measured maps under the cell-failure model, with block offsets integrated out per
/// block. Every cell's critical value x is interval-censored by the reads: a failing cell lies above the
/// threshold of every read it failed in, and a cell that never failed lies below the lowest threshold where its
/// failure could have shown. For persistent, nested faults this is the exact likelihood: the binomial counts of
/// newly failing cells between neighbouring voltages, not independent counts at every voltage, which would count
/// a cell failing at several voltages several times and overstate the block-to-block spread.
/// A failing cell that passed a read with a lower threshold than one it failed (a transient miss, or thresholds
/// ordered differently than the current temperature coefficient says) is not impossible but a miss of
/// probability <see cref="MissProbability"/> per read: the cell's likelihood sums over the intervals between the
/// thresholds of the reads where it could show, each weighted by the misses it needs. That keeps the likelihood
/// smooth where thresholds of different temperatures or voltages cross, so the coefficients can be fitted.
/// </summary>
internal sealed class CriticalValueLikelihood(FitData data, ThresholdModel thresholds, double thinning)
{
    private const double Tiny = 1e-300;

    /// <summary>Chance that a failing cell does not show on a read where it should (beyond the fitted transient part).</summary>
    public const double MissProbability = 1e-3;

    private static readonly double[] MissPowers = Enumerable.Range(0, 100).Select(i => Math.Pow(MissProbability, i)).ToArray();

    public FitData Data { get; } = data;

    /// <summary>Share of failing cells that show in a read (1 minus the marginal cells' misses).</summary>
    public double Thinning { get; } = thinning;

    public double[] Thresholds(ModelParameters p) =>
        Data.Points.Select(op => thresholds.At(op, p.TemperatureCoefficient, p.VoltageSensitivity)).ToArray();

    public double LogLikelihood(ModelParameters p)
    {
        if (!(p.Sigma > 0) || p.StuckAtZeroShare is < 0 or > 1 || p.BlockSigma < 0 || p.WeakShare is < 0 or > 1 || p.VoltageSensitivity < 0) return double.NegativeInfinity;
        double[] thr = Thresholds(p);
        var (offsets, logWeights) = p.Nodes();
        int k = offsets.Length, reads = thr.Length;

        // P(x > threshold of read r | block offset at node j).
        var q = new double[reads + 1][];
        for (int r = 0; r < reads; r++)
        {
            q[r] = new double[k];
            for (int j = 0; j < k; j++) q[r][j] = CellFailureModel.UpperTail((thr[r] - p.Mean - offsets[j]) / p.Sigma);
        }
        q[reads] = new double[k]; // "no upper bound": P(x > infinity) = 0

        double logC = Math.Log(Thinning), s0 = p.StuckAtZeroShare;
        double logZero = Math.Log(Math.Max(s0, Tiny)), logOne = Math.Log(Math.Max(1 - s0, Tiny));
        var classTerms = new double[Data.Classes.Length][];
        var order = new int[reads];
        var missesAt = new int[reads + 1];
        for (int c = 0; c < Data.Classes.Length; c++)
        {
            var fc = Data.Classes[c];
            // The visible reads by threshold: x in (t_m, t_m+1] fails exactly the first m of them.
            int n = fc.Visible.Length;
            fc.Visible.CopyTo(order, 0);
            Array.Sort(order, 0, n, Comparer<int>.Create((a, b) => thr[a].CompareTo(thr[b])));
            // x lies above every threshold the cell failed at; each passed read below x is a miss.
            int lowest = 0, misses = 0;
            for (int i = 0; i < n; i++)
                if (Array.BinarySearch(fc.Failed, order[i]) >= 0) lowest = i + 1;
            for (int m = 0; m <= n; m++)
            {
                missesAt[m] = misses;
                if (m < n && Array.BinarySearch(fc.Failed, order[m]) < 0) misses++;
            }
            double prior = logC + (fc.Value switch { 0 => logZero, 1 => logOne, _ => 0 });
            var row = classTerms[c] = new double[k];
            for (int j = 0; j < k; j++)
            {
                double sum = 0;
                for (int m = lowest; m <= n; m++)
                {
                    double above = m == 0 ? 1 : q[order[m - 1]][j], below = m < n ? q[order[m]][j] : 0;
                    if (above > below && missesAt[m] < MissPowers.Length) sum += (above - below) * MissPowers[missesAt[m]];
                }
                row[j] = prior + Math.Log(Math.Max(sum, Tiny));
            }
        }

        var neverTerms = new double[Data.Signatures.Length][];
        for (int s = 0; s < neverTerms.Length; s++)
        {
            var sig = Data.Signatures[s];
            int one = MinRead(sig.StoringOne, thr, reads), zero = MinRead(sig.StoringZero, thr, reads);
            var row = neverTerms[s] = new double[k];
            for (int j = 0; j < k; j++)
            {
                double seen = Data.Stuck ? s0 * q[one][j] + (1 - s0) * q[zero][j] : q[one][j];
                row[j] = Log1P(-Thinning * seen);
            }
        }

        double total = 0;
        var acc = new double[k];
        foreach (var block in Data.Blocks)
        {
            logWeights.CopyTo(acc, 0);
            for (int i = 0; i < block.Classes.Length; i++) AddScaled(acc, classTerms[block.Classes[i]], block.ClassCounts[i]);
            for (int i = 0; i < block.Signatures.Length; i++) AddScaled(acc, neverTerms[block.Signatures[i]], block.NeverCounts[i]);
            total += LogSumExp(acc);
        }
        return total;
    }

    /// <summary>The read with the lowest threshold among some reads (the one most likely to show a failure), or "none".</summary>
    private static int MinRead(int[] reads, double[] thr, int none)
    {
        int best = none;
        foreach (int r in reads)
            if (best == none || thr[r] < thr[best]) best = r;
        return best;
    }

    /// <summary>log(1 + x), accurate for the tiny failing shares of the high-voltage reads.</summary>
    internal static double Log1P(double x) => Math.Abs(x) < 1e-4 ? x - x * x / 2 + x * x * x / 3 : Math.Log(Math.Max(1 + x, Tiny));

    private static void AddScaled(Span<double> acc, ReadOnlySpan<double> row, double scale)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && acc.Length >= Vector<double>.Count)
        {
            var a = MemoryMarshal.Cast<double, Vector<double>>(acc);
            var b = MemoryMarshal.Cast<double, Vector<double>>(row);
            var s = new Vector<double>(scale);
            for (int v = 0; v < a.Length; v++) a[v] += b[v] * s;
            i = a.Length * Vector<double>.Count;
        }
        for (; i < acc.Length; i++) acc[i] += row[i] * scale;
    }

    internal static double LogSumExp(ReadOnlySpan<double> x)
    {
        double max = double.NegativeInfinity;
        foreach (double v in x) max = Math.Max(max, v);
        if (double.IsNegativeInfinity(max)) return max;
        double sum = 0;
        foreach (double v in x) sum += Math.Exp(v - max);
        return max + Math.Log(sum);
    }
}
