using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using HilBench.Memory.Geometry;

namespace HilBench.Memory.Profiles;

public enum Technology
{
    Sram,
    Dram,
}

/// <summary>How the per-block offsets of the critical value are spread (a few weak blocks hold most faults).</summary>
public enum BlockOffsetDistribution
{
    None,

    /// <summary>Offset ~ Normal(0, sigma).</summary>
    Normal,

    /// <summary>A share of blocks is weak by a fixed offset, the rest are not.</summary>
    TwoClass,
}

/// <summary>How a failing cell reads.</summary>
public enum FailureMode
{
    /// <summary>It reads a fixed value (stuck-at polarity, DRAM true/anti cells): errors depend on the data.</summary>
    Stuck,

    /// <summary>It reads the inverse of what was stored, whatever that was (data-independent, EDEN model 0).</summary>
    Flip,
}

public sealed record ValueRange(double Min, double Max)
{
    public bool Contains(double v) => v >= Min - 1e-12 && v <= Max + 1e-12;

    public override string ToString() => $"[{Min.ToString(CultureInfo.InvariantCulture)}, {Max.ToString(CultureInfo.InvariantCulture)}]";
}

/// <summary>Latent critical value of a cell: Normal(mean, sigma); for SRAM a critical voltage in volts, for DRAM a critical tRCD in ns.</summary>
public sealed record CellParameters(double Mean, double Sigma, double TemperatureCoefficient, double VoltageSensitivity);

public sealed record BlockOffsets(BlockOffsetDistribution Distribution, double Sigma = 0, double WeakShare = 0, double WeakOffset = 0)
{
    public static BlockOffsets None { get; } = new(BlockOffsetDistribution.None);
}

/// <summary>A fraction of bitlines (or wordlines) whose cells are weaker by <see cref="Strength"/> (latent units).</summary>
public sealed record WeakLines(double Fraction, double Strength)
{
    public static WeakLines None { get; } = new(0, 0);
}

/// <summary>
/// What a failing cell reads. Stuck cells read 0 with probability <see cref="StuckAtZeroShare"/>; with
/// <see cref="AntiCellRowGroup"/> &gt; 0 (DRAM) rows alternate in groups of that many between true cells
/// (fail to 0) and anti cells (fail to 1), and the share is not used.
/// </summary>
public sealed record Polarity(FailureMode Mode, double StuckAtZeroShare = 0.5, int AntiCellRowGroup = 0)
{
    public static Polarity Default { get; } = new(FailureMode.Stuck);
}

/// <summary>A share of the failing cells is marginal: on each read it fails only with <see cref="ReadFailureProbability"/>.</summary>
public sealed record TransientPart(double Share, double ReadFailureProbability)
{
    public static TransientPart None { get; } = new(0, 1);
}

/// <summary>
/// Energy of reading the stored image once: per word access a dynamic energy that scales with C*V^2, plus
/// leakage power (scaling as V^exponent) over the time the reads take.
/// </summary>
public sealed record EnergyModel(double DynamicPicojoulesPerAccess, double LeakageMilliwatts, double LeakageVoltageExponent, double AccessNanoseconds);

public sealed record Provenance(string Source, string Method, string? Quality, string? Date);

/// <summary>
/// A device profile: what kind of memory, its geometry, nominal and allowed operating points, the
/// cell-failure model's parameters, its energy model and where the numbers come from. Loaded from JSON
/// (schema in docs/device-profile.md) and validated field by field.
/// </summary>
public sealed record DeviceProfile
{
    public const string Schema = "hilbench-device-profile/1";

    public required string Name { get; init; }
    public required Technology Technology { get; init; }
    public string Description { get; init; } = "";
    public required Provenance Provenance { get; init; }
    public required MemoryGeometry Geometry { get; init; }
    public required OperatingPoint Nominal { get; init; }
    public required ValueRange VoltageRange { get; init; }
    public ValueRange? TRcdRange { get; init; }
    public required ValueRange TemperatureRange { get; init; }
    public required CellParameters Cells { get; init; }
    public BlockOffsets BlockOffsets { get; init; } = BlockOffsets.None;
    public WeakLines WeakBitlines { get; init; } = WeakLines.None;
    public WeakLines WeakWordlines { get; init; } = WeakLines.None;
    public Polarity Polarity { get; init; } = Polarity.Default;
    public TransientPart Transient { get; init; } = TransientPart.None;
    public EnergyModel? Energy { get; init; }
    public int ChipSeed { get; init; } = 1;

    /// <summary>Where the profile came from (a file path), for messages.</summary>
    public string Origin { get; init; } = "profile";

    /// <summary>The analytic side of the cell-failure model for this profile.</summary>
    public CellFailureModel Model => new(this);

    /// <summary>Checks an operating point against the profile's ranges; the error names the limit and the field.</summary>
    public OperatingPoint Check(OperatingPoint op)
    {
        if (!VoltageRange.Contains(op.Voltage))
            throw new OperatingPointException($"V={op.Voltage.ToString(CultureInfo.InvariantCulture)} is outside {Name}'s voltage range {VoltageRange} V (field range.voltage of {Origin}); " +
                                              $"{(op.Voltage < VoltageRange.Min ? "below it the memory is not characterised (it may crash)" : "above it the device would be overdriven")}");
        if (!TemperatureRange.Contains(op.TemperatureC))
            throw new OperatingPointException($"T={op.TemperatureC.ToString(CultureInfo.InvariantCulture)} C is outside {Name}'s temperature range {TemperatureRange} C (field range.temperature of {Origin})");
        if (Technology == Technology.Sram && op.TRcdNs is not null)
            throw new OperatingPointException($"{Name} is an SRAM profile and has no tRCD; drop tRCD from the operating point");
        if (Technology == Technology.Dram)
        {
            double t = op.TRcdNs ?? Nominal.TRcdNs!.Value;
            if (!TRcdRange!.Contains(t))
                throw new OperatingPointException($"tRCD={t.ToString(CultureInfo.InvariantCulture)} ns is outside {Name}'s tRCD range {TRcdRange} ns (field range.tRCD of {Origin})");
            return op with { TRcdNs = t };
        }
        return op;
    }

    /// <summary>The allowed point with the most failures: lowest voltage and tRCD, and the temperature that weakens cells most.</summary>
    public OperatingPoint WorstPoint()
    {
        // For both technologies a positive temperature coefficient means heat weakens the cells.
        double t = Cells.TemperatureCoefficient >= 0 ? TemperatureRange.Max : TemperatureRange.Min;
        return new OperatingPoint(VoltageRange.Min, TRcdRange?.Min, t);
    }

    /// <summary>Parses an operating point, filling missing fields from the nominal point, and checks it.</summary>
    public OperatingPoint ParsePoint(string text) => Check(OperatingPoint.Parse(text, Nominal));

    public static DeviceProfile Load(string path)
    {
        if (!File.Exists(path)) throw new ProfileException($"device profile {path} does not exist; the shipped ones are in calibration/profiles/");
        return Parse(File.ReadAllText(path), path);
    }

    public static DeviceProfile Parse(string json, string origin = "profile") => ProfileReader.Read(json, origin);

    public string ToJson() => ProfileReader.Write(this).ToJsonString(new JsonSerializerOptions { WriteIndented = true });
}
