using System.Device.Spi;
using System.Globalization;
using Iot.Device.DAC;
using UnitsNet;

namespace HilBench.Board.Instruments;

/// <summary>Wiring of an AD5328 that trims one or more regulators.</summary>
/// <param name="ReferenceVoltsA">VREF on the A-D half (channels 0-3).</param>
/// <param name="ReferenceVoltsB">VREF on the E-H half (channels 4-7).</param>
/// <param name="Channels">The channels wired to a regulator, each with its transfer function and host-side limits.</param>
public sealed record Ad5328Options(double ReferenceVoltsA, double ReferenceVoltsB, IReadOnlyList<SupplyChannelConfig> Channels);

/// <summary>Regulator set point driven by an AD5328 12-bit octal DAC through the Iot.Device.Bindings driver.</summary>
/// <remarks>
/// Output for code D is VREF·D/4096 (datasheet, gain bit 0). The binding scales by 4095 instead, so
/// the code is chosen here and handed to the binding as the voltage its own formula maps back to
/// exactly that code.
/// </remarks>
public sealed class Ad5328SupplySetPoint : ISupplySetPoint
{
    /// <summary>Number of DAC codes.</summary>
    public const int Codes = 4096;

    /// <summary>Highest code.</summary>
    public const int MaxCode = Codes - 1;

    private readonly object _gate = new();
    private readonly AD5328 _dac;
    private readonly Dictionary<int, SupplyChannelConfig> _channels;
    private readonly Dictionary<int, int> _lastCodes = [];
    private bool _disposed;

    /// <summary>Wraps the AD5328 behind <paramref name="device"/>; the set point owns and disposes the device.</summary>
    /// <exception cref="ArgumentException">A channel is out of range, repeated, or its floor/ceiling is unreachable with the DAC's output range.</exception>
    public Ad5328SupplySetPoint(SpiDevice device, Ad5328Options options)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        Description = string.Create(CultureInfo.InvariantCulture,
            $"AD5328 on SPI bus {device.ConnectionSettings.BusId} chip select {device.ConnectionSettings.ChipSelectLine}");

        foreach (double vref in new[] { options.ReferenceVoltsA, options.ReferenceVoltsB })
        {
            // The AD5328 accepts a reference from 0.25 V up to its supply (5.5 V at most).
            if (!(vref >= 0.25 && vref <= 5.5))
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"{Description}: reference voltage {vref} V is outside the AD5328's 0.25..5.5 V"));
            }
        }

        if (options.Channels is null || options.Channels.Count == 0)
        {
            throw new ArgumentException($"{Description}: no channel is wired to a regulator");
        }

        _channels = [];
        foreach (var config in options.Channels)
        {
            Validate(config);
            if (!_channels.TryAdd(config.Channel, config))
            {
                throw new ArgumentException($"{Description}: channel {config.Channel} is configured twice");
            }
        }

        Channels = [.. _channels.Keys.Order()];
        _dac = new AD5328(device, ElectricPotential.FromVolts(options.ReferenceVoltsA), ElectricPotential.FromVolts(options.ReferenceVoltsB));
    }

    /// <summary>The wiring this set point was configured with.</summary>
    public Ad5328Options Options { get; }

    /// <inheritdoc/>
    public string Description { get; }

    /// <inheritdoc/>
    public IReadOnlyList<int> Channels { get; }

    /// <summary>Nearest DAC code for an output voltage, ties away from zero, clamped to 0..4095.</summary>
    public static int CodeFor(double dacVolts, double referenceVolts)
    {
        if (double.IsNaN(dacVolts))
        {
            throw new ArgumentException("DAC voltage is NaN", nameof(dacVolts));
        }

        double exact = dacVolts * Codes / referenceVolts;
        return (int)Math.Clamp(Math.Round(exact, MidpointRounding.AwayFromZero), 0, MaxCode);
    }

    /// <summary>DAC output for a code.</summary>
    public static double VoltsFor(int code, double referenceVolts) => referenceVolts * code / Codes;

    /// <summary>VREF of <paramref name="channel"/>'s half of the chip.</summary>
    public double ReferenceFor(int channel) => channel <= 3 ? Options.ReferenceVoltsA : Options.ReferenceVoltsB;

    /// <summary>The code last written to <paramref name="channel"/>, if any.</summary>
    public int? LastCode(int channel)
    {
        lock (_gate)
        {
            return _lastCodes.TryGetValue(channel, out int code) ? code : null;
        }
    }

    /// <inheritdoc/>
    public SupplyRange GetRange(int channel)
    {
        var config = Config(channel);
        return new SupplyRange(config.FloorVolts, config.CeilingVolts, Math.Abs(config.Transfer.Gain) * ReferenceFor(channel) / Codes);
    }

    /// <inheritdoc/>
    public RailTransfer GetTransfer(int channel) => Config(channel).Transfer;

    /// <inheritdoc/>
    public double SetVolts(int channel, double volts)
    {
        var config = Config(channel);
        if (!double.IsFinite(volts))
        {
            throw new ArgumentOutOfRangeException(nameof(volts), volts, $"{Description}: refusing to set channel {channel} to a non-finite voltage");
        }

        if (volts < config.FloorVolts || volts > config.CeilingVolts)
        {
            string side = volts < config.FloorVolts ? "below the host-side floor" : "above the host-side ceiling";
            throw new ArgumentOutOfRangeException(nameof(volts), volts, string.Create(CultureInfo.InvariantCulture,
                $"{Description}: refusing to set channel {channel} to {volts:0.000} V, {side} (allowed {config.FloorVolts:0.000}..{config.CeilingVolts:0.000} V)"));
        }

        double vref = ReferenceFor(channel);
        int code = CodeFor(config.Transfer.DacVolts(volts), vref);
        // The binding computes round(v / (vref / 4095)); this voltage maps back to exactly `code`.
        double bindingVolts = Math.Min(code * vref / MaxCode, vref);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            try
            {
                _dac.SetVoltage((ushort)channel, ElectricPotential.FromVolts(bindingVolts));
            }
            catch (IOException ex)
            {
                throw new IOException($"{Description}: SPI write to channel {channel} failed ({ex.Message})", ex);
            }

            _lastCodes[channel] = code;
        }

        return config.Transfer.RailVolts(VoltsFor(code, vref));
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            // The binding disposes the SPI device it was given.
            _dac.Dispose();
        }
    }

    private SupplyChannelConfig Config(int channel) =>
        _channels.TryGetValue(channel, out var config)
            ? config
            : throw new ArgumentOutOfRangeException(nameof(channel), channel,
                $"{Description}: channel {channel} has no regulator configured (configured: {string.Join(", ", Channels)})");

    private void Validate(SupplyChannelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.Channel is < 0 or > 7)
        {
            throw new ArgumentException($"{Description}: channel {config.Channel} does not exist (AD5328 has channels 0-7, A-H)");
        }

        config.Transfer.Validate();
        if (!double.IsFinite(config.FloorVolts) || !double.IsFinite(config.CeilingVolts) || config.FloorVolts >= config.CeilingVolts)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"{Description}: channel {config.Channel} needs floor < ceiling (got {config.FloorVolts} V .. {config.CeilingVolts} V)"));
        }

        // Both limits must be reachable; the rail is linear in the DAC output, so everything between them is too.
        double vref = ReferenceFor(config.Channel);
        double halfStep = 0.5 * vref / Codes;
        double top = VoltsFor(MaxCode, vref);
        foreach (double rail in new[] { config.FloorVolts, config.CeilingVolts })
        {
            double dac = config.Transfer.DacVolts(rail);
            if (dac < -halfStep || dac > top + halfStep)
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"{Description}: channel {config.Channel} rail {rail:0.000} V needs {dac:0.000} V from the DAC, outside its 0..{top:0.000} V output (VREF {vref} V); fix the transfer function or the limits"));
            }
        }
    }
}
