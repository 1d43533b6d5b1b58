using HilBench.Memory;
using HilBench.Memory.Profiles;

namespace HilBench.Calibration.Fit;

/// <summary>
/// The operating point's threshold on the latent critical value, exactly as <see cref="CellFailureModel.ThresholdAt"/>
/// computes it, but with the temperature coefficient and voltage sensitivity as free parameters.
/// </summary>
internal sealed class ThresholdModel(Technology technology, OperatingPoint nominal)
{
    public Technology Technology { get; } = technology;

    public OperatingPoint Nominal { get; } = nominal;

    public double At(OperatingPoint op, double temperatureCoefficient, double voltageSensitivity)
    {
        double dt = op.TemperatureC - Nominal.TemperatureC;
        if (Technology == Technology.Sram) return op.Voltage - temperatureCoefficient * dt;
        double growth = (1 + voltageSensitivity * (Nominal.Voltage - op.Voltage)) * (1 + temperatureCoefficient * dt);
        return growth > 0 ? (op.TRcdNs ?? Nominal.TRcdNs!.Value) / growth : 0;
    }

    /// <summary>The dimension the failure curve is swept along: V for SRAM, tRCD for DRAM.</summary>
    public double Swept(OperatingPoint op) => Technology == Technology.Sram ? op.Voltage : op.TRcdNs ?? Nominal.TRcdNs!.Value;

    /// <summary>The other dimensions, as a key: points sharing it differ only along the swept one.</summary>
    public string SliceKey(OperatingPoint op) => Technology == Technology.Sram
        ? $"T={op.TemperatureC:R}"
        : $"V={op.Voltage:R},T={op.TemperatureC:R}";
}
