namespace HilBench.Board.Instruments;

/// <summary>Samples a power monitor on a background loop and integrates power into energy.</summary>
/// <remarks>
/// Samples land on a fixed grid (start + k·interval) rather than interval after the previous sample, so
/// slow bus reads do not stretch the period; ticks missed while a read overran are skipped. A sample is
/// always taken at start and at stop, so the trapezoid spans the whole measured interval. All members
/// are thread-safe.
/// </remarks>
public sealed class EnergyMeter : IDisposable
{
    private readonly object _gate = new();
    private readonly IPowerMonitor _monitor;
    private readonly TimeProvider _clock;
    private CancellationTokenSource? _stop;
    private Task? _loop;
    private long _startTimestamp;
    private Exception? _fault;
    private Accumulator _acc;

    /// <summary>Creates a meter that reads <paramref name="monitor"/> every <paramref name="interval"/>.</summary>
    /// <param name="monitor">The rail's power monitor; not disposed by the meter.</param>
    /// <param name="interval">Sampling period; the monitor's own conversion time is a sensible lower bound.</param>
    /// <param name="clock">Time source; <see cref="TimeProvider.System"/> when null.</param>
    public EnergyMeter(IPowerMonitor monitor, TimeSpan interval, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(monitor);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        _monitor = monitor;
        Interval = interval;
        _clock = clock ?? TimeProvider.System;
    }

    /// <summary>Sampling period.</summary>
    public TimeSpan Interval { get; }

    /// <summary>True between <see cref="Start"/> and <see cref="Stop"/>.</summary>
    public bool IsRunning
    {
        get
        {
            lock (_gate)
            {
                return _loop is not null;
            }
        }
    }

    /// <summary>Samples taken since the last <see cref="Start"/>.</summary>
    public int SampleCount
    {
        get
        {
            lock (_gate)
            {
                return _acc.Count;
            }
        }
    }

    /// <summary>Resets the totals, takes the first sample and starts the background loop.</summary>
    /// <exception cref="InvalidOperationException">The meter is already running.</exception>
    public void Start()
    {
        lock (_gate)
        {
            if (_loop is not null)
            {
                throw new InvalidOperationException("the energy meter is already running");
            }

            _acc = default;
            _fault = null;
            _startTimestamp = _clock.GetTimestamp();
            TakeSampleLocked();
            _stop = new CancellationTokenSource();
            var token = _stop.Token;
            _loop = Task.Run(() => LoopAsync(token), CancellationToken.None);
        }
    }

    /// <summary>Stops the loop, takes the last sample and returns the totals.</summary>
    /// <exception cref="InvalidOperationException">The meter is not running, or the monitor failed during the measurement.</exception>
    public EnergyReading Stop()
    {
        Task loop;
        CancellationTokenSource stop;
        lock (_gate)
        {
            if (_loop is null || _stop is null)
            {
                throw new InvalidOperationException("the energy meter is not running");
            }

            loop = _loop;
            stop = _stop;
        }

        stop.Cancel();
        loop.GetAwaiter().GetResult();
        lock (_gate)
        {
            if (!ReferenceEquals(_loop, loop))
            {
                throw new InvalidOperationException("the energy meter was stopped by another caller");
            }

            _loop = null;
            _stop = null;
            stop.Dispose();
            if (_fault is not null)
            {
                throw new InvalidOperationException(
                    $"power monitor {_monitor.Description} failed after {_acc.Count} samples: {_fault.Message}", _fault);
            }

            TakeSampleLocked();
            return _acc.Reading();
        }
    }

    /// <summary>Totals so far without stopping; null before the first <see cref="Start"/>.</summary>
    public EnergyReading? Snapshot()
    {
        lock (_gate)
        {
            return _acc.Count == 0 ? null : _acc.Reading();
        }
    }

    /// <summary>Runs <paramref name="work"/> while metering.</summary>
    public (T Result, EnergyReading Energy) Measure<T>(Func<T> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        Start();
        T result;
        try
        {
            result = work();
        }
        catch
        {
            // The work's exception is the one worth reporting; a monitor failure on top of it is not.
            try
            {
                Stop();
            }
            catch (InvalidOperationException)
            {
            }

            throw;
        }

        return (result, Stop());
    }

    /// <summary>Runs <paramref name="work"/> while metering.</summary>
    public EnergyReading Measure(Action work)
    {
        ArgumentNullException.ThrowIfNull(work);
        return Measure(() =>
        {
            work();
            return 0;
        }).Energy;
    }

    /// <summary>Stops the loop if it runs; the monitor is left to its owner.</summary>
    public void Dispose()
    {
        if (IsRunning)
        {
            try
            {
                Stop();
            }
            catch (InvalidOperationException)
            {
            }
        }
    }

    private async Task LoopAsync(CancellationToken token)
    {
        long tick = 1;
        while (!token.IsCancellationRequested)
        {
            TimeSpan wait = Interval * tick - _clock.GetElapsedTime(_startTimestamp);
            if (wait > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(wait, _clock, token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }

            lock (_gate)
            {
                if (token.IsCancellationRequested)
                {
                    return;
                }

                try
                {
                    TakeSampleLocked();
                }
                catch (Exception ex)
                {
                    _fault = ex;
                    return;
                }
            }

            TimeSpan elapsed = _clock.GetElapsedTime(_startTimestamp);
            tick = Math.Max(tick + 1, elapsed.Ticks / Interval.Ticks + 1);
        }
    }

    private void TakeSampleLocked()
    {
        var sample = _monitor.Sample(_clock.GetElapsedTime(_startTimestamp));
        _acc.Add(sample);
    }

    /// <summary>Running trapezoid integrals of power, voltage and current.</summary>
    private struct Accumulator
    {
        private PowerSample _first;
        private PowerSample _last;
        private double _joules;
        private double _voltSeconds;
        private double _ampSeconds;
        private double _sumVolts;
        private double _sumAmps;
        private double _sumWatts;

        public int Count { get; private set; }

        public void Add(PowerSample s)
        {
            if (Count == 0)
            {
                _first = s;
            }
            else
            {
                double dt = (s.Elapsed - _last.Elapsed).TotalSeconds;
                _joules += 0.5 * (_last.Watts + s.Watts) * dt;
                _voltSeconds += 0.5 * (_last.Volts + s.Volts) * dt;
                _ampSeconds += 0.5 * (_last.Amps + s.Amps) * dt;
            }

            _last = s;
            _sumVolts += s.Volts;
            _sumAmps += s.Amps;
            _sumWatts += s.Watts;
            Count++;
        }

        public readonly EnergyReading Reading()
        {
            TimeSpan duration = _last.Elapsed - _first.Elapsed;
            double seconds = duration.TotalSeconds;
            return seconds > 0
                ? new EnergyReading(_joules, _voltSeconds / seconds, _ampSeconds / seconds, _joules / seconds, duration, Count)
                : new EnergyReading(0, _sumVolts / Count, _sumAmps / Count, _sumWatts / Count, duration, Count);
        }
    }
}
