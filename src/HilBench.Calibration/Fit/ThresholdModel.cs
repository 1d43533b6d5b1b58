using HilBench.Memory;
using HilBench.Memory.Profiles;

namespace HilBench.Calibration.Fit;

/// <summary>
/// The operating point's threshold on the latent critical value (<see cref="CellFailureModel.Threshold"/>) for a
/// technology and nominal point, with the temperature coefficient and voltage sensitivity as free parameters.
/// </summary>
internal sealed class ThresholdModel(Technology technology, OperatingPoint nominal)
{
    public Technology Technology { get; } = technology;

    public OperatingPoint Nominal { get; } = nominal;

    public double At(OperatingPoint op, double temperatureCoefficient, double voltageSensitivity) =>
        CellFailureModel.Threshold(Technology, Nominal, op, temperatureCoefficient, voltageSensitivity);

    /// <summary>The dimension the failure curve is swept along: V for SRAM, tRCD for DRAM.</summary>
    public double Swept(OperatingPoint op) => Technology == Technology.Sram ? op.Voltage : op.TRcdNs ?? Nominal.TRcdNs!.Value;

    /// <summary>The other dimensions, as a key: points sharing it differ only along the swept one.</summary>
    public string SliceKey(OperatingPoint op) => Technology == Technology.Sram
        ? $"T={op.TemperatureC:R}"
        : $"V={op.Voltage:R},T={op.TemperatureC:R}";
}
