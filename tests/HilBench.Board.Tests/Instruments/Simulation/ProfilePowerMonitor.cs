using HilBench.Board.Instruments;

namespace HilBench.Board.Tests.Instruments.Simulation;

/// <summary>A monitor that reports an exact power profile as a function of the clock, for checking integration.</summary>
internal sealed class ProfilePowerMonitor(ManualTimeProvider clock, Func<double, (double Volts, double Amps)> profile) : IPowerMonitor
{
    private int _reads;

    public string Description => "profile monitor";

    public double BusVoltsLsb => 1e-6;

    public double CurrentAmpsLsb => 1e-6;

    public double PowerWattsLsb => 1e-6;

    /// <summary>Fails every read from this many reads on (0 = never).</summary>
    public int FailAfterReads { get; set; }

    public int Reads => Volatile.Read(ref _reads);

    public double ReadBusVolts() => At().Volts;

    public double ReadCurrentAmps() => At().Amps;

    public double ReadPowerWatts()
    {
        var (v, a) = At();
        return v * a;
    }

    public void Dispose()
    {
    }

    private (double Volts, double Amps) At()
    {
        int n = Interlocked.Increment(ref _reads);
        if (FailAfterReads > 0 && n > FailAfterReads)
        {
            throw new IOException("Error 121 (Remote I/O error)");
        }

        return profile(clock.Now.TotalSeconds);
    }
}
