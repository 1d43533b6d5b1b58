using System.Device.I2c;
using System.Globalization;
using Iot.Device.Adc;

namespace HilBench.Board.Instruments;

/// <summary>Wiring of an INA219 on a supply rail.</summary>
public sealed record Ina219Options
{
    /// <summary>Shunt resistance in ohms (0.1 Ω on the common breakout boards).</summary>
    public double ShuntOhms { get; init; } = 0.1;

    /// <summary>Largest current the rail will draw; selects the smallest PGA range that holds it.</summary>
    public double MaxExpectedAmps { get; init; } = 2.0;

    /// <summary>Largest bus voltage; selects the 16 V or the 32 V range.</summary>
    public double MaxBusVolts { get; init; } = 16.0;
}

/// <summary>INA219 power monitor through the Iot.Device.Bindings driver.</summary>
/// <remarks>
/// Calibration is fixed at 4096, which makes one current count equal one 10 µV shunt count: the shunt
/// ADC cannot resolve finer, so a finer current LSB would add truncation noise and nothing else, and
/// with 4096 neither the current nor the power register can overflow.
/// </remarks>
public sealed class Ina219PowerMonitor : IPowerMonitor
{
    /// <summary>Shunt-voltage register weight.</summary>
    public const double ShuntVoltsLsb = 10e-6;

    /// <summary>Bus-voltage register weight (after the 3-bit shift).</summary>
    public const double BusLsb = 4e-3;

    /// <summary>Calibration register value used by this monitor.</summary>
    public const ushort Calibration = 4096;

    private static readonly (double Volts, Ina219PgaSensitivity Setting)[] PgaRanges =
    [
        (0.040, Ina219PgaSensitivity.PlusOrMinus40mv),
        (0.080, Ina219PgaSensitivity.PlusOrMinus80mv),
        (0.160, Ina219PgaSensitivity.PlusOrMinus160mv),
        (0.320, Ina219PgaSensitivity.PlusOrMinus320mv),
    ];

    private readonly object _gate = new();
    private readonly I2cDevice _device;
    private readonly Ina219 _chip;
    private readonly float _bindingCurrentLsb;
    private bool _disposed;

    /// <summary>Configures the INA219 behind <paramref name="device"/>; the monitor owns and disposes the device.</summary>
    public Ina219PowerMonitor(I2cDevice device, Ina219Options? options = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        Options = options ?? new Ina219Options();
        _device = device;
        Description = string.Create(CultureInfo.InvariantCulture,
            $"INA219 on I2C bus {device.ConnectionSettings.BusId} at 0x{device.ConnectionSettings.DeviceAddress:X2} (shunt {Options.ShuntOhms:0.000###} Ω)");

        if (!(Options.ShuntOhms > 0) || !double.IsFinite(Options.ShuntOhms))
        {
            throw new ArgumentException($"{Description}: shunt resistance must be positive and finite");
        }

        if (!(Options.MaxExpectedAmps > 0) || !double.IsFinite(Options.MaxExpectedAmps))
        {
            throw new ArgumentException($"{Description}: maximum expected current must be positive and finite");
        }

        if (!(Options.MaxBusVolts > 0) || Options.MaxBusVolts > 26)
        {
            // 26 V is the INA219's absolute bus limit even in the 32 V range.
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"{Description}: maximum bus voltage {Options.MaxBusVolts} V is outside the INA219's 0..26 V"));
        }

        double fullScaleShunt = Options.MaxExpectedAmps * Options.ShuntOhms;
        var pga = PgaRanges.FirstOrDefault(r => fullScaleShunt <= r.Volts);
        if (pga.Volts == 0)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"{Description}: {Options.MaxExpectedAmps} A through {Options.ShuntOhms} Ω drops {fullScaleShunt * 1000:0.#} mV, beyond the INA219's ±320 mV shunt range; use a smaller shunt"));
        }

        PgaFullScaleVolts = pga.Volts;
        CurrentAmpsLsb = ShuntVoltsLsb / Options.ShuntOhms;
        _bindingCurrentLsb = (float)CurrentAmpsLsb;

        try
        {
            _chip = new Ina219(device);
            _chip.Reset();
            _chip.BusVoltageRange = Options.MaxBusVolts <= 16 ? Ina219BusVoltageRange.Range16v : Ina219BusVoltageRange.Range32v;
            _chip.PgaSensitivity = pga.Setting;
            _chip.SetCalibration(Calibration, _bindingCurrentLsb);
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or UnauthorizedAccessException)
        {
            device.Dispose();
            throw new IOException($"{Description}: could not configure the chip ({ex.Message}); check the address, wiring and pull-ups", ex);
        }
    }

    /// <summary>The wiring this monitor was configured for.</summary>
    public Ina219Options Options { get; }

    /// <summary>The PGA range selected from the expected current, in volts.</summary>
    public double PgaFullScaleVolts { get; }

    /// <inheritdoc/>
    public string Description { get; }

    /// <inheritdoc/>
    public double BusVoltsLsb => BusLsb;

    /// <inheritdoc/>
    public double CurrentAmpsLsb { get; }

    /// <inheritdoc/>
    public double PowerWattsLsb => 20 * CurrentAmpsLsb;

    /// <inheritdoc/>
    public double ReadBusVolts() => Transfer(() => _chip.ReadBusVoltage().Volts);

    /// <inheritdoc/>
    public double ReadCurrentAmps()
    {
        double amps = Transfer(() => _chip.ReadCurrent().Amperes);
        // The binding reads the two's-complement current register as unsigned, so a rail idling a
        // count below zero would read as +6.5 A; recover the raw count and sign it.
        int raw = (int)Math.Round(amps / _bindingCurrentLsb);
        if (raw > short.MaxValue)
        {
            raw -= 65536;
        }

        return raw * CurrentAmpsLsb;
    }

    /// <inheritdoc/>
    public double ReadPowerWatts()
    {
        double watts = Transfer(() => (double)_chip.ReadPower().Watts);
        // Re-derive the count so the float LSB the binding multiplies by (and UnitsNet's decimal power) do not leak into results.
        long raw = (long)Math.Round(watts / (_bindingCurrentLsb * 20.0));
        return raw * PowerWattsLsb;
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
            _chip.Dispose();
            _device.Dispose();
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
