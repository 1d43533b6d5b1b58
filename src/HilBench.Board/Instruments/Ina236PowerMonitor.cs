using System.Device.I2c;
using System.Globalization;
using Iot.Device.Adc;
using UnitsNet;

namespace HilBench.Board.Instruments;

/// <summary>Wiring of an INA236 on a supply rail.</summary>
public sealed record Ina236Options
{
    /// <summary>Shunt resistance in ohms (0.008 Ω on the common breakout boards).</summary>
    public double ShuntOhms { get; init; } = 0.008;

    /// <summary>Largest current the rail will draw; must fit the ±81.92 mV shunt range (ADCRANGE = 0).</summary>
    public double MaxExpectedAmps { get; init; } = 8.0;
}

/// <summary>INA236 power monitor through the Iot.Device.Bindings driver.</summary>
/// <remarks>
/// The binding picks CAL = 0.00512 / (2·I/2^15 · R) from the current it is handed. It is handed
/// 40.96 mV / R so that CAL comes out at 2048: one current count per 2.5 µV shunt count, the finest
/// resolution the shunt ADC supports, with no truncation in the chip's current multiply.
/// </remarks>
public sealed class Ina236PowerMonitor : IPowerMonitor
{
    /// <summary>Shunt-voltage register weight with ADCRANGE = 0, the only range the binding drives.</summary>
    public const double ShuntVoltsLsb = 2.5e-6;

    /// <summary>Bus-voltage register weight.</summary>
    public const double BusLsb = 1.6e-3;

    /// <summary>Shunt full scale with ADCRANGE = 0.</summary>
    public const double ShuntFullScaleVolts = 0.08192;

    private readonly object _gate = new();
    private readonly Ina236 _chip;
    private bool _disposed;

    /// <summary>Resets and calibrates the INA236 behind <paramref name="device"/>; the monitor owns and disposes the device.</summary>
    /// <exception cref="IOException">No INA236 answers on the device (wrong address or chip).</exception>
    public Ina236PowerMonitor(I2cDevice device, Ina236Options? options = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        Options = options ?? new Ina236Options();
        Description = string.Create(CultureInfo.InvariantCulture,
            $"INA236 on I2C bus {device.ConnectionSettings.BusId} at 0x{device.ConnectionSettings.DeviceAddress:X2} (shunt {Options.ShuntOhms:0.000###} Ω)");

        if (!(Options.ShuntOhms > 0) || !double.IsFinite(Options.ShuntOhms))
        {
            throw new ArgumentException($"{Description}: shunt resistance must be positive and finite");
        }

        if (!(Options.MaxExpectedAmps > 0) || Options.MaxExpectedAmps * Options.ShuntOhms > ShuntFullScaleVolts)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"{Description}: {Options.MaxExpectedAmps} A through {Options.ShuntOhms} Ω drops {Options.MaxExpectedAmps * Options.ShuntOhms * 1000:0.##} mV, beyond the INA236's ±81.92 mV shunt range; use a smaller shunt"));
        }

        // Slightly under half of full scale so that floating-point rounding cannot turn 2048.000 into 2047.999 before the binding truncates it.
        double bindingAmps = ShuntFullScaleVolts / 2 / Options.ShuntOhms * (1 - 1e-12);
        Calibration = (int)(0.00512 / (bindingAmps / 32768.0 * 2 * Options.ShuntOhms));
        CurrentAmpsLsb = 0.00512 / Options.ShuntOhms / Calibration;

        try
        {
            _chip = new Ina236(device, ElectricResistance.FromOhms(Options.ShuntOhms), ElectricCurrent.FromAmperes(bindingAmps));
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or UnauthorizedAccessException)
        {
            device.Dispose();
            throw new IOException($"{Description}: no INA236 answered ({ex.Message}); check the address (0x40-0x47) and wiring", ex);
        }
    }

    /// <summary>The wiring this monitor was configured for.</summary>
    public Ina236Options Options { get; }

    /// <summary>Calibration register value written by the binding.</summary>
    public int Calibration { get; }

    /// <inheritdoc/>
    public string Description { get; }

    /// <inheritdoc/>
    public double BusVoltsLsb => BusLsb;

    /// <inheritdoc/>
    public double CurrentAmpsLsb { get; }

    /// <inheritdoc/>
    public double PowerWattsLsb => 32 * CurrentAmpsLsb;

    /// <inheritdoc/>
    public double ReadBusVolts() => Transfer(() => _chip.ReadBusVoltage().Volts);

    /// <inheritdoc/>
    public double ReadCurrentAmps() => Transfer(() => _chip.ReadCurrent().Amperes);

    /// <inheritdoc/>
    public double ReadPowerWatts() => Transfer(() => (double)_chip.ReadPower().Watts);

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
            // The binding disposes the I2C device it was given.
            _chip.Dispose();
        }
    }

    private double Transfer(Func<double> read)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            try
            {
                return read();
            }
            catch (IOException ex)
            {
                throw new IOException($"{Description}: I2C transfer failed ({ex.Message})", ex);
            }
        }
    }
}
