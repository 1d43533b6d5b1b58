namespace HilBench.Board.Tests.Instruments.Simulation;

/// <summary>The supply rail of a simulated memory board: what the monitor measures and the DAC drives.</summary>
/// <remarks>
/// A new target from the DAC takes effect after <see cref="ResponseDelay"/> on <see cref="Clock"/>,
/// modelling regulator slew, so a settle-and-verify loop has something to wait for.
/// </remarks>
internal sealed class SimulatedRail(TimeProvider? clock = null)
{
    private readonly object _gate = new();
    private double _volts;
    private double _amps;
    private double? _pendingVolts;
    private long _pendingAt;

    public TimeProvider Clock { get; } = clock ?? TimeProvider.System;

    public TimeSpan ResponseDelay { get; set; }

    /// <summary>When set, current follows Ohm's law from the rail voltage instead of <see cref="Amps"/>.</summary>
    public double? LoadOhms { get; set; }

    public double Volts
    {
        get
        {
            lock (_gate)
            {
                if (_pendingVolts is { } v && Clock.GetElapsedTime(_pendingAt) >= ResponseDelay)
                {
                    _volts = v;
                    _pendingVolts = null;
                }

                return _volts;
            }
        }

        set
        {
            lock (_gate)
            {
                _volts = value;
                _pendingVolts = null;
            }
        }
    }

    public double Amps
    {
        get
        {
            double volts = Volts;
            lock (_gate)
            {
                return LoadOhms is { } r ? volts / r : _amps;
            }
        }

        set
        {
            lock (_gate)
            {
                _amps = value;
            }
        }
    }

    /// <summary>The regulator was told to move to <paramref name="volts"/>.</summary>
    public void Drive(double volts)
    {
        lock (_gate)
        {
            _pendingVolts = volts;
            _pendingAt = Clock.GetTimestamp();
        }
    }
}
