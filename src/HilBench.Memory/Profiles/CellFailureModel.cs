using MathNet.Numerics;

namespace HilBench.Memory.Profiles;

/// <summary>
/// The analytic side of the cell-failure model. Every cell has a latent critical value
/// x = mean + block offset + weak-bitline strength + weak-wordline strength + sigma * z, z ~ Normal(0, 1);
/// it fails when x exceeds the operating point's threshold:
/// SRAM (x is a critical voltage): threshold = V - tc * (T - T_nominal);
/// DRAM (x is a critical tRCD at nominal V and T): threshold = tRCD / ((1 + a * (V_nominal - V)) * (1 + tc * (T - T_nominal))).
/// Lowering V (or tRCD) lowers the threshold, so the failing set only grows: faults are nested.
/// </summary>
public sealed class CellFailureModel(DeviceProfile profile)
{
    /// <summary>The most weak cells a chip may hold (its failing set at the profile's worst corner).</summary>
    public const long MaxWeakCells = 16_000_000;

    /// <summary>Quantiles of the block offsets for <see cref="Top10BlockShare"/>, which needs to know which blocks are the top 10%.</summary>
    private const int QuantilePoints = 4096;

    public DeviceProfile Profile { get; } = profile;

    public double ThresholdAt(OperatingPoint op) =>
        Threshold(Profile.Technology, Profile.Nominal, op, Profile.Cells.TemperatureCoefficient, Profile.Cells.VoltageSensitivity);

    /// <summary>
    /// The threshold on the latent critical value at an operating point, for given coefficients (the calibration
    /// fits them); a DRAM point without tRCD runs at the nominal tRCD.
    /// </summary>
    public static double Threshold(Technology technology, OperatingPoint nominal, OperatingPoint op, double temperatureCoefficient, double voltageSensitivity)
    {
        double dt = op.TemperatureC - nominal.TemperatureC;
        if (technology == Technology.Sram) return op.Voltage - temperatureCoefficient * dt;
        double growth = (1 + voltageSensitivity * (nominal.Voltage - op.Voltage)) * (1 + temperatureCoefficient * dt);
        return growth > 0 ? (op.TRcdNs ?? nominal.TRcdNs!.Value) / growth : 0;
    }

    /// <summary>The lowest threshold inside the profile's ranges: every cell that can fail there is a weak cell of the chip.</summary>
    public double Floor => ThresholdAt(Profile.WorstPoint());

    /// <summary>P(x &gt; threshold) for a cell with the given total offset.</summary>
    public double TailProbability(double threshold, double offset) => UpperTail((threshold - Profile.Cells.Mean - offset) / Profile.Cells.Sigma);

    /// <summary>The latent value at upper-tail probability p for a cell with the given offset (inverse of <see cref="TailProbability"/>).</summary>
    public double LatentAtTail(double p, double offset) => Profile.Cells.Mean + offset + Profile.Cells.Sigma * UpperTailInverse(p);

    /// <summary>The four kinds of cell by weak bitline and weak wordline: their share and extra offset.</summary>
    public IEnumerable<(double Share, double Offset)> LineClasses()
    {
        var b = Profile.WeakBitlines;
        var w = Profile.WeakWordlines;
        yield return ((1 - b.Fraction) * (1 - w.Fraction), 0);
        yield return (b.Fraction * (1 - w.Fraction), b.Strength);
        yield return ((1 - b.Fraction) * w.Fraction, w.Strength);
        yield return (b.Fraction * w.Fraction, b.Strength + w.Strength);
    }

    /// <summary>
    /// P(x &gt; threshold) for a cell of a block drawn from <paramref name="offsets"/>, with the block offset integrated
    /// out exactly: for normal offsets x = mean + o + sigma * z is Normal(mean, sigma^2 + sigma_b^2); two-class offsets
    /// mix two tails.
    /// </summary>
    public static double MarginalTail(double threshold, double mean, double sigma, BlockOffsets offsets) => offsets.Distribution switch
    {
        BlockOffsetDistribution.Normal => UpperTail((threshold - mean) / Math.Sqrt(sigma * sigma + offsets.Sigma * offsets.Sigma)),
        BlockOffsetDistribution.TwoClass => (1 - offsets.WeakShare) * UpperTail((threshold - mean) / sigma)
                                            + offsets.WeakShare * UpperTail((threshold - mean - offsets.WeakOffset) / sigma),
        _ => UpperTail((threshold - mean) / sigma),
    };

    /// <summary>
    /// Block offsets as quadrature nodes with weights summing to 1, for what must be integrated per block (a block's
    /// likelihood, the spread of its expected faults): the two classes exactly; a normal on a grid of spacing 0.1
    /// sigma_b out to 6 sigma_b, whose trapezoid rule is accurate far below any fit's precision.
    /// </summary>
    public static (double[] Offsets, double[] Weights) OffsetNodes(BlockOffsets offsets) => offsets.Distribution switch
    {
        BlockOffsetDistribution.Normal when offsets.Sigma > 0 => (NormalGrid.Z.Select(z => offsets.Sigma * z).ToArray(), NormalGrid.Weights),
        BlockOffsetDistribution.TwoClass when offsets.WeakShare is > 0 and < 1 => ([0, offsets.WeakOffset], [1 - offsets.WeakShare, offsets.WeakShare]),
        BlockOffsetDistribution.TwoClass when offsets.WeakShare == 1 => ([offsets.WeakOffset], [1]),
        _ => ([0], [1]),
    };

    private static class NormalGrid
    {
        public static readonly double[] Z = Enumerable.Range(-60, 121).Select(i => i * 0.1).ToArray();
        public static readonly double[] Weights = Normalised(Z.Select(z => Math.Exp(-0.5 * z * z)).ToArray());

        private static double[] Normalised(double[] w)
        {
            double sum = w.Sum();
            return w.Select(x => x / sum).ToArray();
        }
    }

    /// <summary>Expected failing share of a block with a given offset (weak lines averaged over).</summary>
    public double BlockFailureProbability(double threshold, double blockOffset) =>
        LineClasses().Sum(c => c.Share == 0 ? 0 : c.Share * TailProbability(threshold, blockOffset + c.Offset));

    /// <summary>The block offset at quantile u of the profile's offset distribution.</summary>
    public double BlockOffsetAt(double u)
    {
        var o = Profile.BlockOffsets;
        return o.Distribution switch
        {
            BlockOffsetDistribution.Normal => o.Sigma * -UpperTailInverse(u),
            BlockOffsetDistribution.TwoClass => u > 1 - o.WeakShare ? o.WeakOffset : 0,
            _ => 0,
        };
    }

    /// <summary>Expected share of failing cells at an operating point, averaged over chips (block offsets integrated out).</summary>
    public double FailureProbability(OperatingPoint op) => FailureProbability(ThresholdAt(op));

    /// <summary>Expected share of failing cells at a threshold, averaged over chips (block offsets integrated out exactly).</summary>
    public double FailureProbability(double threshold)
    {
        var c = Profile.Cells;
        return LineClasses().Sum(l => l.Share == 0 ? 0 : l.Share * MarginalTail(threshold - l.Offset, c.Mean, c.Sigma, Profile.BlockOffsets));
    }

    public double WorstCaseFailureProbability() => FailureProbability(Profile.WorstPoint());

    /// <summary>The expected weak cells of a chip (its failing cells at the worst corner); at most <see cref="MaxWeakCells"/> can be emulated.</summary>
    public double WeakCellsAtWorstCorner => WorstCaseFailureProbability() * Profile.Geometry.TotalBits;

    /// <summary>
    /// Expected share of all faults that sit in the 10% of blocks with the largest offsets (the blocks that
    /// hold the most faults when faults per block are many).
    /// </summary>
    public double Top10BlockShare(OperatingPoint op)
    {
        var f = Quantiles(ThresholdAt(op));
        double total = f.Sum();
        if (total == 0) return 0.1;
        int top = QuantilePoints / 10;
        return f.Skip(QuantilePoints - top).Sum() / total;
    }

    /// <summary>
    /// Probability that a failing cell gives a wrong bit, for stored data with the given share of ones:
    /// 1 for flipping cells; for stuck cells the chance the stuck value differs from the stored one.
    /// </summary>
    public double ErrorShare(double onesShare)
    {
        var p = Profile.Polarity;
        if (p.Mode == FailureMode.Flip) return 1;
        if (p.AntiCellRowGroup > 0) return 0.5; // half the rows fail to 0, half to 1
        return p.StuckAtZeroShare * onesShare + (1 - p.StuckAtZeroShare) * (1 - onesShare);
    }

    /// <summary>Share of failing cells that fail on a given read (marginal cells only sometimes).</summary>
    public double ReadShare => 1 - Profile.Transient.Share + Profile.Transient.Share * Profile.Transient.ReadFailureProbability;

    /// <summary>Expected bit error rate of stored data with the given share of ones (0.5 for random data).</summary>
    public double ExpectedBer(OperatingPoint op, double onesShare = 0.5) => FailureProbability(op) * ErrorShare(onesShare) * ReadShare;

    /// <summary>
    /// Energy of reading <paramref name="bits"/> once at an operating point: word accesses times
    /// E_dyn * (V/V_nom)^2, plus leakage P_leak * (V/V_nom)^k over the access time (for DRAM the access time
    /// moves with tRCD). Null when the profile has no energy model.
    /// </summary>
    public double? ReadEnergyJoules(OperatingPoint op, long bits)
    {
        if (Profile.Energy is not { } e) return null;
        double accesses = Math.Ceiling((double)bits / Profile.Geometry.WordBits);
        double v = op.Voltage / Profile.Nominal.Voltage;
        double? nominalTrcd = Profile.Nominal.TRcdNs;
        double accessNs = e.AccessNanoseconds + ((op.TRcdNs ?? nominalTrcd ?? 0) - (nominalTrcd ?? 0)); // no tRCD: the nominal one, as in ThresholdAt
        double dynamic = accesses * e.DynamicPicojoulesPerAccess * 1e-12 * v * v;
        double leakage = e.LeakageMilliwatts * 1e-3 * Math.Pow(v, e.LeakageVoltageExponent) * accesses * Math.Max(0, accessNs) * 1e-9;
        return dynamic + leakage;
    }

    /// <summary>1 - E(op) / E(nominal): the share of read energy saved by running at the point.</summary>
    public double? EnergySaving(OperatingPoint op)
    {
        var at = ReadEnergyJoules(op, Profile.Geometry.WordBits);
        var nominal = ReadEnergyJoules(Profile.Nominal, Profile.Geometry.WordBits);
        return at is { } a && nominal is { } n && n > 0 ? 1 - a / n : null;
    }

    private double[] Quantiles(double threshold)
    {
        if (Profile.BlockOffsets.Distribution == BlockOffsetDistribution.None)
            return Enumerable.Repeat(BlockFailureProbability(threshold, 0), QuantilePoints).ToArray();
        var f = new double[QuantilePoints];
        for (int i = 0; i < QuantilePoints; i++) f[i] = BlockFailureProbability(threshold, BlockOffsetAt((i + 0.5) / QuantilePoints));
        return f;
    }

    /// <summary>Q(z) = P(Z &gt; z), accurate far into the tail.</summary>
    public static double UpperTail(double z) => 0.5 * SpecialFunctions.Erfc(z / Math.Sqrt(2));

    public static double UpperTailInverse(double p) => Math.Sqrt(2) * SpecialFunctions.ErfcInv(2 * p);
}
