using HilBench.Calibration.Measured;
using HilBench.Memory;
using HilBench.Memory.Geometry;

namespace HilBench.Calibration.Fit;

/// <summary>
/// Weak bitlines and wordlines. Within a block, given its number of faults, uniform placement makes the faults per
/// line multinomial with probabilities proportional to the cells that can show a failure on each line; the
/// block's offset cancels. The test statistic is Pearson's chi-square summed over blocks, its null distribution
/// simulated from those multinomials (the counts are too sparse for the chi-square approximation). When the test
/// rejects, a two-class mixture (a share f of lines whose cells fail rho times as often) is fitted by EM with a
/// free rate per block, and lines more likely weak than not are flagged so the critical-value fit sees ordinary
/// cells only.
/// </summary>
internal static class WeakLineAnalysis
{
    private const int NullSamples = 199;

    public sealed record Outcome(LineFinding Finding, IReadOnlyList<(int Block, int Line)> Flagged);

    /// <summary>
    /// The weight of every cell: the chance its failure is visible in at least one of the reads (a stuck-at-0 cell
    /// shows where some read stored 1). Cells in <paramref name="excluded"/> weigh 0.
    /// </summary>
    public static (double[][] Bitlines, double[][] Wordlines) LineWeights(MemoryGeometry g, IReadOnlyList<byte[]> images, bool stuck, double s0, IReadOnlySet<long> excluded)
    {
        var bit = new double[g.Blocks][];
        var word = new double[g.Blocks][];
        for (int b = 0; b < g.Blocks; b++)
        {
            bit[b] = new double[g.BitsPerRow];
            word[b] = new double[g.RowsPerBlock];
            for (int r = 0; r < g.RowsPerBlock; r++)
            {
                long first = g.Cell(b, r, 0);
                for (int c = 0; c < g.BitsPerRow; c++)
                {
                    long cell = first + c;
                    double w = 1;
                    if (stuck)
                    {
                        bool one = false, zero = false;
                        foreach (var image in images)
                            if (PatternStats.Bit(image, cell)) one = true; else zero = true;
                        w = (one ? s0 : 0) + (zero ? 1 - s0 : 0);
                    }
                    if (w == 0 || (excluded.Count > 0 && excluded.Contains(cell))) continue;
                    bit[b][c] += w;
                    word[b][r] += w;
                }
            }
        }
        return (bit, word);
    }

    public static Outcome Analyse(string kind, OperatingPoint point, MemoryGeometry g, IReadOnlyList<MeasuredRead> reads, double[][] weights,
        IReadOnlySet<long> excluded, double alpha, int seed)
    {
        bool bitlines = kind == "bitlines";
        int lines = bitlines ? g.BitsPerRow : g.RowsPerBlock;
        var counts = new int[g.Blocks][];
        for (int b = 0; b < g.Blocks; b++) counts[b] = new int[lines];
        var cells = new HashSet<long>();
        foreach (var read in reads)
            foreach (var f in read.Faults)
            {
                long cell = g.Cell(f.Block, f.Row, f.Bit);
                if (excluded.Contains(cell) || !cells.Add(cell)) continue;
                counts[f.Block][bitlines ? f.Bit : f.Row]++;
            }
        long faults = cells.Count;
        long lineCount = (long)g.Blocks * lines;
        if (lines < 2)
            return new Outcome(new LineFinding(kind, point, lineCount, faults, 0, 0, 1, false, 0, 1, 0, 0, $"one {kind[..^1]} per block: nothing to compare"), []);
        if (faults < 10)
            return new Outcome(new LineFinding(kind, point, lineCount, faults, 0, 0, 1, false, 0, 1, 0, 0, $"only {faults} faults at {point}: too few to test {kind}"), []);

        double observed = 0, nullMean = 0;
        var nulls = new List<BlockNull>();
        for (int b = 0; b < g.Blocks; b++)
        {
            observed += Pearson(counts[b], weights[b]);
            int k = counts[b].Sum();
            if (k == 0) continue;
            nullMean += weights[b].Count(w => w > 0) - 1;
            nulls.Add(BlockNull.Of(k, weights[b]));
        }
        var random = new Random(seed);
        int atLeast = 0;
        var scratch = new int[lines];
        var touched = new List<int>();
        for (int s = 0; s < NullSamples; s++)
        {
            double x = 0;
            foreach (var block in nulls) x += block.Sample(random, scratch, touched);
            if (x >= observed) atLeast++;
        }
        double pValue = (atLeast + 1.0) / (NullSamples + 1);
        if (pValue >= alpha)
            return new Outcome(new LineFinding(kind, point, lineCount, faults, observed, nullMean, pValue, false, 0, 1, 0, 0,
                $"faults per {kind[..^1]} are consistent with uniform placement within blocks (p = {pValue:G3}); no weak {kind}"), []);

        var (fraction, ratio, weak) = FitMixture(counts, weights);
        var flagged = new List<(int, int)>();
        for (int b = 0; b < g.Blocks; b++)
            for (int j = 0; j < lines; j++)
                if (weak[b][j] > 0.5) flagged.Add((b, j));
        return new Outcome(new LineFinding(kind, point, lineCount, faults, observed, nullMean, pValue, true, fraction, ratio, 0, flagged.Count,
            $"faults cluster on {kind} (p = {pValue:G3} against uniform placement): {fraction:P3} of the {kind} fail {ratio:F1} times as often; {flagged.Count} flagged and left out of the critical-value fit"), flagged);
    }

    /// <summary>Pearson's chi-square of counts against the multinomial with probabilities proportional to the weights: sum k^2/e - K.</summary>
    private static double Pearson(int[] counts, double[] weights)
    {
        long total = 0;
        double sumWeights = 0, x = 0;
        for (int j = 0; j < counts.Length; j++)
        {
            total += counts[j];
            sumWeights += weights[j];
        }
        if (total == 0) return 0;
        for (int j = 0; j < counts.Length; j++)
            if (counts[j] > 0) x += (double)counts[j] * counts[j] / (total * weights[j] / sumWeights);
        return x - total;
    }

    /// <summary>One block's multinomial under uniform placement: its fault count and the lines' cumulative weights.</summary>
    private sealed record BlockNull(int Faults, double[] Weights, double[] Cumulative, double Total, bool Uniform)
    {
        public static BlockNull Of(int faults, double[] weights)
        {
            var cumulative = new double[weights.Length];
            double acc = 0;
            for (int j = 0; j < weights.Length; j++) cumulative[j] = acc += weights[j];
            bool uniform = weights.All(w => Math.Abs(w - weights[0]) <= 1e-9 * acc);
            return new BlockNull(faults, weights, cumulative, acc, uniform);
        }

        /// <summary>Pearson's chi-square of one simulated placement; only the lines that got faults are visited.</summary>
        public double Sample(Random random, int[] scratch, List<int> touched)
        {
            for (int i = 0; i < Faults; i++)
            {
                int j;
                if (Uniform) j = random.Next(Weights.Length);
                else
                {
                    j = Array.BinarySearch(Cumulative, random.NextDouble() * Total);
                    if (j < 0) j = ~j;
                    j = Math.Min(j, Weights.Length - 1);
                    while (Weights[j] == 0 && j > 0) j--; // never a line without cells
                }
                if (scratch[j]++ == 0) touched.Add(j);
            }
            double x = 0;
            foreach (int j in touched)
            {
                x += (double)scratch[j] * scratch[j] / (Faults * Weights[j] / Total);
                scratch[j] = 0;
            }
            touched.Clear();
            return x - Faults;
        }
    }

    /// <summary>
    /// EM for counts k_bj ~ Poisson(lambda_b a_bj (weak ? rho : 1)), weak with probability f: returns f, rho and
    /// each line's posterior probability of being weak. Lines of a block with the same count and weight share
    /// their posterior, so they are iterated as one group (most lines hold no fault).
    /// </summary>
    private static (double Fraction, double Ratio, double[][] Weak) FitMixture(int[][] counts, double[][] weights)
    {
        int blocks = counts.Length;
        var groups = new (int Count, double Weight, int Lines)[blocks][];
        for (int b = 0; b < blocks; b++)
            groups[b] = Enumerable.Range(0, counts[b].Length).Where(j => weights[b][j] > 0)
                .GroupBy(j => (counts[b][j], weights[b][j])).Select(grp => (grp.Key.Item1, grp.Key.Item2, grp.Count())).ToArray();
        var tau = groups.Select(gs => new double[gs.Length]).ToArray();
        var lambda = new double[blocks];
        var faults = counts.Select(c => c.Sum()).ToArray();
        double lines = groups.Sum(gs => gs.Sum(x => (double)x.Lines));
        for (int b = 0; b < blocks; b++) lambda[b] = faults[b] / Math.Max(weights[b].Sum(), 1e-300);
        double f = 0.01, rho = 4;
        for (int iteration = 0; iteration < 1000; iteration++)
        {
            double sumTau = 0, sumTauK = 0, sumTauExpected = 0;
            for (int b = 0; b < blocks; b++)
                for (int i = 0; i < groups[b].Length; i++)
                {
                    var (k, a, n) = groups[b][i];
                    double m = lambda[b] * a;
                    double logOdds = Math.Log(f / (1 - f)) + k * Math.Log(rho) - m * (rho - 1);
                    double t = logOdds > 40 ? 1 : 1 / (1 + Math.Exp(-logOdds));
                    tau[b][i] = t;
                    sumTau += n * t;
                    sumTauK += n * t * k;
                    sumTauExpected += n * t * m;
                }
            double fNew = Math.Clamp(sumTau / lines, 1e-9, 1 - 1e-9);
            double rhoNew = sumTauExpected > 0 ? Math.Max(1, sumTauK / sumTauExpected) : rho;
            for (int b = 0; b < blocks; b++)
            {
                double denominator = 0;
                for (int i = 0; i < groups[b].Length; i++) denominator += groups[b][i].Lines * groups[b][i].Weight * (1 + tau[b][i] * (rhoNew - 1));
                lambda[b] = denominator > 0 ? faults[b] / denominator : 0;
            }
            bool done = Math.Abs(fNew - f) < 1e-10 && Math.Abs(rhoNew - rho) < 1e-8 * rho;
            f = fNew;
            rho = rhoNew;
            if (done) break;
        }
        var weak = new double[blocks][];
        for (int b = 0; b < blocks; b++)
        {
            weak[b] = new double[counts[b].Length];
            for (int j = 0; j < counts[b].Length; j++)
            {
                if (weights[b][j] <= 0) continue;
                int i = Array.FindIndex(groups[b], x => x.Count == counts[b][j] && x.Weight == weights[b][j]);
                weak[b][j] = tau[b][i];
            }
        }
        return (f, rho, weak);
    }
}
