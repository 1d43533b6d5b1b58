using HilBench.Memory.Profiles;

namespace HilBench.Calibration.Fit;

/// <summary>What the calibration cannot read from the maps: the profile's name and nominal point, its range, and the held-out voltages.</summary>
public sealed record CalibrationOptions
{
    public string Name { get; init; } = "calibrated";

    /// <summary>Free text for the profile's description; a default names the data.</summary>
    public string? Description { get; init; }

    /// <summary>The supply the memory is specified for; default the highest measured voltage.</summary>
    public double? NominalVoltage { get; init; }

    /// <summary>Nominal temperature (degrees C); default 25 when the data span it, otherwise the lowest measured temperature.</summary>
    public double? NominalTemperature { get; init; }

    /// <summary>DRAM only: the datasheet tRCD (ns); default the longest measured tRCD.</summary>
    public double? NominalTRcd { get; init; }

    /// <summary>The profile's allowed voltages; default from the lowest measured voltage to the nominal one.</summary>
    public ValueRange? VoltageRange { get; init; }

    /// <summary>Voltages left out of every fit step and predicted afterwards (a held-out check of the extrapolation).</summary>
    public IReadOnlyList<double> HoldoutVoltages { get; init; } = [];

    /// <summary>
    /// The stuck-at-0 share used when the data show only one failure polarity (a constant pattern). 0.5 is the
    /// cautious choice: it predicts the most errors for data that store both values.
    /// </summary>
    public double AssumedStuckAtZeroShare { get; init; } = 0.5;

    /// <summary>Level of the tests for weak bitlines and wordlines.</summary>
    public double SignificanceLevel { get; init; } = 0.01;

    /// <summary>Seed of the Monte-Carlo null distributions of the line tests (results are reproducible).</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Date written to the provenance; default today (UTC).</summary>
    public DateOnly? Date { get; init; }
}
