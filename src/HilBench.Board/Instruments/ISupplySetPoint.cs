using System.Globalization;

namespace HilBench.Board.Instruments;

/// <summary>Drives a regulator's set point, one DAC channel per rail.</summary>
public interface ISupplySetPoint : IDisposable
{
    /// <summary>Human-readable identity used in error messages.</summary>
    string Description { get; }

    /// <summary>The channels that have a configured rail.</summary>
    IReadOnlyList<int> Channels { get; }

    /// <summary>Host-side limits and step size of the rail on <paramref name="channel"/>.</summary>
    SupplyRange GetRange(int channel);

    /// <summary>The DAC-to-rail transfer function of <paramref name="channel"/>.</summary>
    RailTransfer GetTransfer(int channel);

    /// <summary>Commands the rail on <paramref name="channel"/> to <paramref name="volts"/>.</summary>
    /// <returns>The rail voltage the chosen DAC code yields through the transfer function (the request rounded to one step).</returns>
    /// <exception cref="ArgumentOutOfRangeException">The request is outside the host-side floor and ceiling, or the channel is not configured.</exception>
    double SetVolts(int channel, double volts);
}

/// <summary>Host-side limits of one rail and the size of one DAC step on it.</summary>
/// <param name="FloorVolts">Lowest rail voltage the host will command.</param>
/// <param name="CeilingVolts">Highest rail voltage the host will command.</param>
/// <param name="ResolutionVolts">Rail change per DAC code.</param>
public sealed record SupplyRange(double FloorVolts, double CeilingVolts, double ResolutionVolts);

/// <summary>Linear map from DAC output to regulated rail voltage: rail = offset + gain * dac.</summary>
/// <remarks>
/// A DAC that injects current into the regulator's feedback node usually lowers the rail as its output
/// rises, so a negative gain is legal; only zero (no control) is not.
/// </remarks>
/// <param name="OffsetVolts">Rail voltage at 0 V DAC output.</param>
/// <param name="Gain">Rail volts per DAC volt.</param>
public readonly record struct RailTransfer(double OffsetVolts, double Gain)
{
    /// <summary>Rail equals DAC output (the DAC output is the set point itself).</summary>
    public static RailTransfer Identity => new(0, 1);

    /// <summary>Rail voltage for a DAC output.</summary>
    public double RailVolts(double dacVolts) => OffsetVolts + Gain * dacVolts;

    /// <summary>DAC output needed for a rail voltage.</summary>
    public double DacVolts(double railVolts) => (railVolts - OffsetVolts) / Gain;

    /// <summary>Throws when the transfer cannot drive a rail.</summary>
    public void Validate()
    {
        if (!double.IsFinite(OffsetVolts) || !double.IsFinite(Gain) || Gain == 0)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"rail transfer needs a finite offset and a finite non-zero gain (got offset {OffsetVolts} V, gain {Gain})"));
        }
    }
}

/// <summary>One DAC channel wired to a regulator.</summary>
/// <param name="Channel">DAC channel (AD5328: 0 = A … 7 = H).</param>
/// <param name="Transfer">DAC output to rail voltage.</param>
/// <param name="FloorVolts">Lowest rail voltage the host will command; protects the board from a mistyped sweep.</param>
/// <param name="CeilingVolts">Highest rail voltage the host will command.</param>
public sealed record SupplyChannelConfig(int Channel, RailTransfer Transfer, double FloorVolts, double CeilingVolts);
