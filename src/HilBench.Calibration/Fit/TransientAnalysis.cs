using HilBench.Calibration.Measured;
using HilBench.Memory.Geometry;
using MathNet.Numerics.Distributions;

namespace HilBench.Calibration.Fit;

/// <summary>
/// The transient part from repeated reads of the same data at the same point: a persistent failing cell shows
/// in every repeat, a marginal one (share s of the failing cells) in Binomial(R, p) of R repeats. Cells seen at
/// least once are counted by the number of repeats they failed in, and (s, p) fitted by maximum likelihood on
/// that zero-truncated mixture. Two repeats cannot tell s from p, so at least three are needed.
/// </summary>
internal static class TransientAnalysis
{
    public static TransientFinding Analyse(MemoryGeometry geometry, IReadOnlyList<MeasuredRead> reads)
    {
        // histogram[R][m]: cells failing in m of R repeats
        var histogram = new Dictionary<int, long[]>();
        foreach (var group in reads.GroupBy(r => $"{r.Point}|{r.Pattern?.Name}"))
        {
            var repeats = group.ToList();
            int n = repeats.Count;
            if (n < 2) continue;
            var seen = new Dictionary<long, int>();
            foreach (var read in repeats)
                foreach (var f in read.Faults)
                {
                    long cell = geometry.Cell(f.Block, f.Row, f.Bit);
                    seen[cell] = seen.GetValueOrDefault(cell) + 1;
                }
            if (!histogram.TryGetValue(n, out var h)) histogram[n] = h = new long[n + 1];
            foreach (int m in seen.Values) h[m]++; // m <= n: a read lists a cell once (MeasuredMaps.Add)
        }
        if (histogram.Count == 0)
            return new TransientFinding(1, 0, 0, false, 0, double.NaN, 1, double.NaN,
                "no repeated reads at any point: the transient part cannot be seen and is taken as none (every failing cell fails on every read)");
        int maxRepeats = histogram.Keys.Max();
        long cells = histogram.Values.Sum(h => h.Sum());
        long inconsistent = histogram.Sum(kv => kv.Value.Take(kv.Key).Sum());
        if (cells == 0)
            return new TransientFinding(maxRepeats, 0, 0, false, 0, double.NaN, 1, double.NaN, "the repeated reads hold no faults: nothing to say about the transient part");
        if (maxRepeats < 3)
            return new TransientFinding(maxRepeats, cells, inconsistent, false, 0, double.NaN, 1, double.NaN,
                $"only {maxRepeats} repeats per point: {inconsistent} of {cells} failing cells ({(double)inconsistent / cells:P1}) failed in some but not all; " +
                "at least 3 repeats are needed to separate the marginal share from its per-read failure probability, so the profile has no transient part");
        if (inconsistent == 0)
            return new TransientFinding(maxRepeats, cells, 0, true, 0, double.NaN, 1, double.NaN,
                $"all {cells} failing cells failed in every one of the repeats: no transient part");

        double NegLogLik(double[] u)
        {
            double s = Logistic(u[0]), p = Logistic(u[1]);
            double ll = 0;
            foreach (var (n, h) in histogram)
            {
                double seenShare = 1 - s * Math.Pow(1 - p, n);
                for (int m = 1; m <= n; m++)
                {
                    if (h[m] == 0) continue;
                    double pm = s * Binomial.PMF(p, n, m) + (m == n ? 1 - s : 0);
                    ll += h[m] * Math.Log(Math.Max(pm / seenShare, 1e-300));
                }
            }
            return -ll;
        }
        var best = Optimizer.Minimize(NegLogLik, [Logit(Math.Clamp((double)inconsistent / cells * 1.5, 0.01, 0.9)), 0], [0.5, 0.5]);
        double share = Logistic(best.X[0]), prob = Logistic(best.X[1]);
        var h2 = Optimizer.Hessian(v => NegLogLik([Logit(v[0]), Logit(v[1])]), [share, prob], [1e-3, 1e-3]);
        var se = Optimizer.StandardErrors(h2);
        string note = $"{inconsistent} of {cells} failing cells failed in some but not all of up to {maxRepeats} repeats";
        if (!best.Converged) note += $"; the fit of the marginal share and its per-read failure probability did not converge ({best.Problem}), so treat them as rough";
        return new TransientFinding(maxRepeats, cells, inconsistent, true, share, se[0], prob, se[1], note, best.Converged);
    }

    private static double Logistic(double u) => 1 / (1 + Math.Exp(-u));

    private static double Logit(double p)
    {
        p = Math.Clamp(p, 1e-12, 1 - 1e-12);
        return Math.Log(p / (1 - p));
    }
}
