using HilBench.Calibration.Measured;
using HilBench.Calibration.Report;
using HilBench.Memory;
using HilBench.Memory.Geometry;
using HilBench.Memory.Profiles;

namespace HilBench.Calibration.Fit;

/// <summary>A fitted parameter with its standard error (NaN where it was not fitted or sits on a bound).</summary>
public sealed record FittedParameter(string Name, double Value, double StandardError, string Unit, bool Fitted, string Note = "");

/// <summary>One candidate block-heterogeneity model: how well it fits and whether AIC kept it.</summary>
public sealed record ModelCandidate(string Name, int ParameterCount, double LogLikelihood, double Aic, double DeltaAic, bool Selected, string Parameters);

/// <summary>
/// Measured against fitted at one operating point (all reads there together). Intervals are 95%: the measured one
/// is the exact Poisson interval of the count; the fitted one is where a chip of this geometry, drawn from the
/// fitted model, would land (cell and block-offset randomness included). <see cref="OnesShare"/> is the share of
/// ones in the data written at the point (0.5 when unknown), which decides how many failing cells can show.
/// </summary>
public sealed record PointFit(
    OperatingPoint Point, bool Heldout, int Reads, long Bits, long Faults, long OneToZero, long ZeroToOne,
    double MeasuredBer, double MeasuredLow, double MeasuredHigh,
    double FittedBer, double FittedLow, double FittedHigh, double ExpectedFaults, double ChiSquare, double Deviance, double OnesShare)
{
    /// <summary>Fitted over measured BER (infinite when nothing was measured and something was expected).</summary>
    public double Ratio => MeasuredBer > 0 ? FittedBer / MeasuredBer : FittedBer > 0 ? double.PositiveInfinity : 1;

    /// <summary>max(ratio, 1/ratio): how many times off the prediction is, either way.</summary>
    public double Factor => Ratio >= 1 ? Ratio : 1 / Ratio;
}

/// <summary>Per-block fault counts at one point: how many blocks hold k faults, measured and expected under the fit, per bin.</summary>
public sealed record BlockCountFit(OperatingPoint Point, bool Heldout, int[] BinStart, int BinWidth, long[] MeasuredBlocks, double[] ExpectedBlocks, double ChiSquare, int DegreesOfFreedom, double PValue);

/// <summary>The test of weak bitlines (or wordlines) against uniform placement within blocks, and the fit when it is significant.</summary>
public sealed record LineFinding(
    string Kind, OperatingPoint? Point, long Lines, long Faults, double PearsonChiSquare, double NullMean, double PValue, bool Significant,
    double Fraction, double RateRatio, double Strength, int Flagged, string Note);

public sealed record PolarityFinding(bool OneToZeroVisible, bool ZeroToOneVisible, bool Estimated, double StuckAtZeroShare, double StandardError,
    long OneToZero, long ZeroToOne, FailureMode Mode, string Note);

public sealed record NestingFinding(long Faults, long Nested, double Share, int Series, string Note);

/// <summary>The transient part found in repeated reads; <see cref="Converged"/> is false when its fit did not converge (the note says why).</summary>
public sealed record TransientFinding(int MaxRepeats, long Cells, long Inconsistent, bool Estimated, double Share, double ShareError,
    double ReadFailureProbability, double ReadFailureError, string Note, bool Converged = true);

/// <summary>Everything the calibration found: the profile, the parameters with their errors, the model selection and the fit quality.</summary>
public sealed class CalibrationResult
{
    /// <summary>The fitted profile as <see cref="DeviceProfile.Load"/> reads it back from <see cref="ProfileJson"/>.</summary>
    public required DeviceProfile Profile { get; init; }

    /// <summary>The profile JSON with a "calibration" section (inputs and hashes, parameters with errors, fit quality).</summary>
    public required string ProfileJson { get; init; }

    public required CalibrationOptions Options { get; init; }

    public required MemoryGeometry Geometry { get; init; }

    public required IReadOnlyList<InputFile> Inputs { get; init; }

    public required string Method { get; init; }

    public required string Date { get; init; }

    public required IReadOnlyList<FittedParameter> Parameters { get; init; }

    public required IReadOnlyList<ModelCandidate> Models { get; init; }

    public required IReadOnlyList<PointFit> Points { get; init; }

    public required BlockCountFit? LowestVoltageBlocks { get; init; }

    public required LineFinding Bitlines { get; init; }

    public required LineFinding Wordlines { get; init; }

    public required PolarityFinding Polarity { get; init; }

    public required NestingFinding Nesting { get; init; }

    public required TransientFinding Transient { get; init; }

    /// <summary>What could not be estimated and why, and assumptions the data forced.</summary>
    public required IReadOnlyList<string> Notes { get; init; }

    public required TimeSpan Elapsed { get; init; }

    public FittedParameter this[string name] => Parameters.First(p => p.Name == name);

    /// <summary>The largest max(fitted/measured, measured/fitted) over the held-out points; null without holdout.</summary>
    public double? HeldoutFactor => Points.Any(p => p.Heldout) ? Points.Where(p => p.Heldout).Max(p => p.Factor) : null;

    public void SaveProfile(string path) => ProfileWriter.Save(this, path);
}
