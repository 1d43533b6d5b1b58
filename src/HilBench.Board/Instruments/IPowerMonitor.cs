namespace HilBench.Board.Instruments;

/// <summary>A supply-rail power monitor: bus voltage, current and power of the rail feeding a memory board.</summary>
/// <remarks>Implementations are safe to call from several threads; the bus transfers are serialized.</remarks>
public interface IPowerMonitor : IDisposable
{
    /// <summary>Human-readable identity used in error messages, e.g. "INA219 on I2C bus 1 at 0x40 (shunt 0.100 Ω)".</summary>
    string Description { get; }

    /// <summary>Weight of one count of the bus-voltage reading, in volts.</summary>
    double BusVoltsLsb { get; }

    /// <summary>Weight of one count of the current reading, in amperes.</summary>
    double CurrentAmpsLsb { get; }

    /// <summary>Weight of one count of the power reading, in watts.</summary>
    double PowerWattsLsb { get; }

    /// <summary>Rail voltage at the load side of the shunt, in volts.</summary>
    double ReadBusVolts();

    /// <summary>Rail current, in amperes; positive when the rail sources current into the board.</summary>
    double ReadCurrentAmps();

    /// <summary>Rail power as computed by the monitor chip, in watts.</summary>
    double ReadPowerWatts();

    /// <summary>Reads voltage, current and power and stamps them with <paramref name="elapsed"/>.</summary>
    /// <param name="elapsed">Time of the reading on the caller's clock (the caller decides the origin).</param>
    PowerSample Sample(TimeSpan elapsed) => new(elapsed, ReadBusVolts(), ReadCurrentAmps(), ReadPowerWatts());
}

/// <summary>One timestamped power-monitor reading.</summary>
/// <param name="Elapsed">When the reading started, relative to the origin chosen by whoever took it (an <see cref="EnergyMeter"/> uses its start).</param>
/// <param name="Volts">Bus voltage in volts.</param>
/// <param name="Amps">Current in amperes.</param>
/// <param name="Watts">Power in watts.</param>
public readonly record struct PowerSample(TimeSpan Elapsed, double Volts, double Amps, double Watts);
