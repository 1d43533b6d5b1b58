using System.Globalization;

namespace HilBench.Board.Instruments;

/// <summary>How a <see cref="BenchRig"/> sets and checks its rail.</summary>
public sealed record BenchRigOptions
{
    /// <summary>DAC channel that trims the memory board's rail.</summary>
    public int RailChannel { get; init; }

    /// <summary>Wait after a set-point write before the first check (regulator slew plus the monitor's conversion time).</summary>
    public TimeSpan SettleTime { get; init; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Largest accepted difference between the measured rail and the DAC's expected rail.</summary>
    public double ToleranceVolts { get; init; } = 0.010;

    /// <summary>How long after settling the rail may take to come within tolerance.</summary>
    public TimeSpan VerifyTimeout { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Pause between rail checks while waiting for it to come within tolerance.</summary>
    public TimeSpan VerifyPollInterval { get; init; } = TimeSpan.FromMilliseconds(5);

    /// <summary>Power sampling period while measuring energy.</summary>
    public TimeSpan SampleInterval { get; init; } = TimeSpan.FromMilliseconds(2);

    /// <summary>Whether disposing the rig disposes its instruments.</summary>
    public bool OwnsInstruments { get; init; } = true;
}

/// <summary>Outcome of <see cref="BenchRig.SetRail"/>.</summary>
/// <param name="RequestedVolts">The voltage asked for.</param>
/// <param name="ExpectedVolts">The rail the DAC code yields through the transfer function.</param>
/// <param name="MeasuredVolts">The monitor's last reading; null when the rig has no monitor.</param>
/// <param name="Checks">Monitor readings taken until the rail was within tolerance.</param>
public sealed record RailSetting(double RequestedVolts, double ExpectedVolts, double? MeasuredVolts, int Checks);

/// <summary>The rail did not follow the set point.</summary>
public sealed class RailVerificationException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public RailVerificationException(string message, double requestedVolts, double expectedVolts, double measuredVolts)
        : base(message)
    {
        RequestedVolts = requestedVolts;
        ExpectedVolts = expectedVolts;
        MeasuredVolts = measuredVolts;
    }

    /// <summary>The voltage asked for.</summary>
    public double RequestedVolts { get; }

    /// <summary>The rail the DAC code should have produced.</summary>
    public double ExpectedVolts { get; }

    /// <summary>The monitor's last reading.</summary>
    public double MeasuredVolts { get; }
}

/// <summary>The host's bench rig for one memory board: an optional rail power monitor and an optional regulator set point.</summary>
public sealed class BenchRig : IDisposable
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private readonly TimeProvider _clock;
    private readonly object _gate = new();
    private bool _disposed;

    /// <summary>Creates a rig; either instrument may be absent.</summary>
    /// <param name="monitor">Power monitor on the board's rail, or null.</param>
    /// <param name="supply">Set point of the board's regulator, or null.</param>
    /// <param name="options">Rail channel, settle time, tolerance and sampling period.</param>
    /// <param name="clock">Time source; <see cref="TimeProvider.System"/> when null.</param>
    /// <exception cref="ArgumentException">The tolerance is finer than the monitor can resolve, or the rail channel is not configured.</exception>
    public BenchRig(IPowerMonitor? monitor, ISupplySetPoint? supply, BenchRigOptions? options = null, TimeProvider? clock = null)
    {
        Monitor = monitor;
        Supply = supply;
        Options = options ?? new BenchRigOptions();
        _clock = clock ?? TimeProvider.System;

        if (Options.SettleTime < TimeSpan.Zero || Options.VerifyTimeout < TimeSpan.Zero || Options.VerifyPollInterval <= TimeSpan.Zero
            || Options.SampleInterval <= TimeSpan.Zero)
        {
            throw new ArgumentException("bench rig timings must be non-negative and the poll and sample intervals positive");
        }

        if (monitor is not null && !(Options.ToleranceVolts >= monitor.BusVoltsLsb))
        {
            throw new ArgumentException(string.Create(Inv,
                $"rail tolerance {Options.ToleranceVolts:0.0000} V is finer than {monitor.Description}'s {monitor.BusVoltsLsb:0.0000} V step; verification would fail on quantization alone"));
        }

        if (supply is not null && !supply.Channels.Contains(Options.RailChannel))
        {
            throw new ArgumentException($"rail channel {Options.RailChannel} is not configured on {supply.Description} (configured: {string.Join(", ", supply.Channels)})");
        }
    }

    /// <summary>Power monitor on the rail, if fitted.</summary>
    public IPowerMonitor? Monitor { get; }

    /// <summary>Regulator set point, if fitted.</summary>
    public ISupplySetPoint? Supply { get; }

    /// <summary>Settings of this rig.</summary>
    public BenchRigOptions Options { get; }

    /// <summary>The last rail setting that was verified (or set, without a monitor).</summary>
    public RailSetting? LastSetting { get; private set; }

    /// <summary>Sets the rail, waits for it to settle and checks it with the monitor when there is one.</summary>
    /// <exception cref="InvalidOperationException">The rig has no set point.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The voltage is outside the host-side floor and ceiling.</exception>
    /// <exception cref="RailVerificationException">The rail did not come within tolerance in time.</exception>
    public RailSetting SetRail(double volts)
    {
        var supply = Supply ?? throw new InvalidOperationException("this bench rig has no supply set point; the rail cannot be changed from the host");
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            double expected = supply.SetVolts(Options.RailChannel, volts);
            Sleep(Options.SettleTime);
            if (Monitor is null)
            {
                return LastSetting = new RailSetting(volts, expected, null, 0);
            }

            long start = _clock.GetTimestamp();
            int checks = 0;
            while (true)
            {
                double measured = Monitor.ReadBusVolts();
                checks++;
                if (Math.Abs(measured - expected) <= Options.ToleranceVolts)
                {
                    return LastSetting = new RailSetting(volts, expected, measured, checks);
                }

                TimeSpan waited = _clock.GetElapsedTime(start);
                if (waited >= Options.VerifyTimeout)
                {
                    LastSetting = null;
                    throw new RailVerificationException(string.Create(Inv,
                        $"rail reads {measured:0.000} V after setting {volts:0.000} V; check the DAC wiring or the regulator " +
                        $"(expected {expected:0.0000} V ± {Options.ToleranceVolts:0.000} V from {supply.Description} channel {Options.RailChannel}, " +
                        $"{checks} readings by {Monitor.Description} over {(Options.SettleTime + waited).TotalMilliseconds:0} ms)"),
                        volts, expected, measured);
                }

                Sleep(Options.VerifyPollInterval);
            }
        }
    }

    /// <summary>Runs <paramref name="work"/> while metering the rail.</summary>
    /// <returns>The work's result and its energy; the energy is null when the rig has no monitor, so callers keep one code path.</returns>
    public (T Result, EnergyReading? Energy) MeasureEnergy<T>(Func<T> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Monitor is null)
        {
            return (work(), null);
        }

        using var meter = new EnergyMeter(Monitor, Options.SampleInterval, _clock);
        var (result, energy) = meter.Measure(work);
        return (result, energy);
    }

    /// <summary>Disposes the instruments when <see cref="BenchRigOptions.OwnsInstruments"/> is set.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            if (Options.OwnsInstruments)
            {
                Monitor?.Dispose();
                Supply?.Dispose();
            }
        }
    }

    private void Sleep(TimeSpan span)
    {
        if (span <= TimeSpan.Zero)
        {
            return;
        }

        if (ReferenceEquals(_clock, TimeProvider.System))
        {
            Thread.Sleep(span);
        }
        else
        {
            Task.Delay(span, _clock).GetAwaiter().GetResult();
        }
    }
}
