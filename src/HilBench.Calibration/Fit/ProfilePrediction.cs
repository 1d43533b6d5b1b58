using HilBench.Calibration.Measured;
using HilBench.Memory.Profiles;
using MathNet.Numerics;
using MathNet.Numerics.Distributions;

namespace HilBench.Calibration.Fit;

/// <summary>
/// What the fitted profile expects for the reads actually taken: per block, the expected faults as a function of
/// the block's offset (on <see cref="CellFailureModel.OffsetNodes"/>), with the written data deciding which failing
/// cells can show. From it: expected faults per point with a 95% interval for a chip of this geometry, and the
/// expected distribution of faults per block. The expected faults integrate the offsets out exactly
/// (<see cref="CellFailureModel.FailureProbability(double)"/>), as the emulator's expected BER does.
/// </summary>
internal sealed class ProfilePrediction
{
    private readonly DeviceProfile _profile;
    private readonly PatternStats _stats;
    private readonly double[] _offsets;
    private readonly double[] _weights;

    public ProfilePrediction(DeviceProfile profile, PatternStats stats)
    {
        _profile = profile;
        _stats = stats;
        (_offsets, _weights) = CellFailureModel.OffsetNodes(profile.BlockOffsets);
    }

    /// <summary>
    /// lambda[block][node]: expected faults of the block over the reads if its offset is the node's; without the
    /// read share, the expected failing cells whose failure the written data can show.
    /// </summary>
    public double[][] Lambda(IReadOnlyList<MeasuredRead> reads, bool perRead = true) =>
        Expected(reads, perRead, threshold => _offsets.Select(o => _profile.Model.BlockFailureProbability(threshold, o)).ToArray());

    /// <summary>Per block, the expected faults (or with perRead false, showable failing cells) averaged over the block offsets.</summary>
    private double[] Marginal(IReadOnlyList<MeasuredRead> reads, bool perRead) =>
        Expected(reads, perRead, threshold => [_profile.Model.FailureProbability(threshold)]).Select(row => row[0]).ToArray();

    private double[][] Expected(IReadOnlyList<MeasuredRead> reads, bool perRead, Func<double, double[]> failing)
    {
        var g = _stats.Geometry;
        var model = _profile.Model;
        double share = perRead ? model.ReadShare : 1;
        double[][]? lambda = null;
        foreach (var read in reads)
        {
            double[] p = failing(model.ThresholdAt(read.Point));
            lambda ??= Enumerable.Range(0, g.Blocks).Select(_ => new double[p.Length]).ToArray();
            long[]? ones = read.Pattern is not null ? _stats.OnesPerBlock(read.Pattern) : null;
            for (int b = 0; b < g.Blocks; b++)
            {
                double atRisk = g.BitsPerBlock * model.ErrorShare(ones is null ? 0.5 : (double)ones[b] / g.BitsPerBlock) * share;
                for (int j = 0; j < p.Length; j++) lambda[b][j] += atRisk * p[j];
            }
        }
        return lambda ?? Enumerable.Range(0, g.Blocks).Select(_ => new double[1]).ToArray();
    }

    /// <summary>
    /// Expected faults over the reads and their variance over chips: given the block offsets each failing cell is
    /// Poisson, and repeats of one pattern see the same cells, so a persistent cell adds R faults to R repeats
    /// (variance R^2, not R); the spread of the block offsets adds the variance of the conditional mean.
    /// </summary>
    public (double Mean, double Variance) Moments(IReadOnlyList<MeasuredRead> reads)
    {
        var t = _profile.Transient;
        var groups = reads.GroupBy(r => r.Pattern?.Name).Select(g =>
        {
            int repeats = g.Count();
            // Repeats a failing cell shows in: R if persistent, Binomial(R, p) if marginal.
            double shows = (1 - t.Share) * repeats + t.Share * repeats * t.ReadFailureProbability;
            double showsSquared = (1 - t.Share) * repeats * repeats
                                  + t.Share * (repeats * t.ReadFailureProbability * (1 - t.ReadFailureProbability) + Math.Pow(repeats * t.ReadFailureProbability, 2));
            MeasuredRead[] first = [g.First()];
            return (Cells: Lambda(first, perRead: false), Marginal: Marginal(first, perRead: false), Shows: shows, ShowsSquared: showsSquared);
        }).ToList();
        double mean = 0, variance = 0;
        for (int b = 0; b < _stats.Geometry.Blocks; b++)
        {
            // Mean and Poisson part are linear in the failing cells: exact over the offsets. Their spread needs the nodes.
            double blockMean = 0, sumMean = 0, sumMeanSquared = 0;
            foreach (var group in groups)
            {
                blockMean += group.Marginal[b] * group.Shows;
                variance += group.Marginal[b] * group.ShowsSquared;
            }
            for (int j = 0; j < _offsets.Length; j++)
            {
                double m = groups.Sum(group => group.Cells[b][j] * group.Shows);
                sumMean += _weights[j] * m;
                sumMeanSquared += _weights[j] * m * m;
            }
            mean += blockMean;
            variance += Math.Max(0, sumMeanSquared - sumMean * sumMean);
        }
        return (mean, variance);
    }

    /// <summary>Expected number of blocks holding k faults, for k = 0..maxK (the last entry takes the tail beyond).</summary>
    public double[] BlockHistogram(IReadOnlyList<MeasuredRead> reads, int maxK)
    {
        var expected = new double[maxK + 1];
        foreach (var row in Lambda(reads))
            for (int j = 0; j < row.Length; j++)
            {
                double l = row[j], w = _weights[j];
                double cdf = 0;
                // Poisson probabilities by the recurrence p_k = p_(k-1) l / k; in logs for the rare huge means.
                double pk = Math.Exp(-l);
                for (int k = 0; k < maxK; k++)
                {
                    if (k > 0) pk *= l / k;
                    double value = l < 600 ? pk : Math.Exp(k * Math.Log(l) - l - SpecialFunctions.GammaLn(k + 1));
                    expected[k] += value * w;
                    cdf += value;
                }
                expected[maxK] += Math.Max(0, 1 - cdf) * w;
            }
        return expected;
    }

    /// <summary>95% interval of a count with the given mean and variance: Poisson, or negative binomial when overdispersed.</summary>
    public static (double Low, double High) CountInterval(double mean, double variance)
    {
        if (mean <= 0) return (0, 0);
        if (mean > 5000)
        {
            double sd = Math.Sqrt(Math.Max(variance, mean));
            return (Math.Max(0, mean - 1.96 * sd), mean + 1.96 * sd);
        }
        Func<int, double> logPmf;
        if (variance <= mean * 1.0001)
            logPmf = k => k * Math.Log(mean) - mean - SpecialFunctions.GammaLn(k + 1);
        else
        {
            double r = mean * mean / (variance - mean), p = r / (r + mean);
            logPmf = k => SpecialFunctions.GammaLn(k + r) - SpecialFunctions.GammaLn(r) - SpecialFunctions.GammaLn(k + 1) + r * Math.Log(p) + k * Math.Log(1 - p);
        }
        double cdf = 0;
        double low = double.NaN;
        for (int k = 0; k < 1_000_000; k++)
        {
            cdf += Math.Exp(logPmf(k));
            if (double.IsNaN(low) && cdf >= 0.025) low = k;
            if (cdf >= 0.975) return (low, k);
        }
        return (double.IsNaN(low) ? 0 : low, mean + 1.96 * Math.Sqrt(variance));
    }

    /// <summary>Exact 95% Poisson interval of an observed count (Garwood).</summary>
    public static (double Low, double High) PoissonInterval(long count) =>
        (count == 0 ? 0 : Gamma.InvCDF(count, 1, 0.025), Gamma.InvCDF(count + 1, 1, 0.975));
}
