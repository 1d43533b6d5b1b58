namespace HilBench.Board.Instruments;

/// <summary>Energy drawn from a rail over one measured interval.</summary>
/// <param name="Joules">Trapezoidal integral of the sampled power.</param>
/// <param name="MeanVolts">Time-weighted mean bus voltage (the plain sample mean when the interval has no length).</param>
/// <param name="MeanAmps">Time-weighted mean current.</param>
/// <param name="MeanWatts">Time-weighted mean power: <see cref="Joules"/> / <see cref="Duration"/>.</param>
/// <param name="Duration">From the first sample to the last.</param>
/// <param name="Samples">Number of monitor readings, including the ones at start and stop.</param>
public sealed record EnergyReading(double Joules, double MeanVolts, double MeanAmps, double MeanWatts, TimeSpan Duration, int Samples)
{
    /// <summary><see cref="Duration"/> in seconds, for consumers of results JSON that want a number.</summary>
    public double DurationSeconds => Duration.TotalSeconds;
}
