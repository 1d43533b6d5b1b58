using System.Text.Json;
using HilBench.Board.Instruments;
using HilBench.Board.Tests.Instruments.Simulation;
using NUnit.Framework;

namespace HilBench.Board.Tests.Instruments;

[TestFixture]
public class EnergyMeterTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(10);

    /// <summary>Lets the meter's loop take <paramref name="ticks"/> samples, one interval apart.</summary>
    private static void Tick(ManualTimeProvider clock, EnergyMeter meter, int ticks, TimeSpan interval)
    {
        for (int i = 0; i < ticks; i++)
        {
            int before = meter.SampleCount;
            clock.WaitForTimers();
            clock.Advance(interval);
            Assert.That(SpinWait.SpinUntil(() => meter.SampleCount == before + 1, TimeSpan.FromSeconds(10)), Is.True, "sample taken");
        }
    }

    [Test]
    public void Constant_power_integrates_exactly()
    {
        var clock = new ManualTimeProvider();
        clock.Advance(TimeSpan.FromMilliseconds(250));
        var monitor = new ProfilePowerMonitor(clock, _ => (1.1, 0.4));
        using var meter = new EnergyMeter(monitor, Interval, clock);

        meter.Start();
        Tick(clock, meter, 10, Interval);
        var reading = meter.Stop();

        Assert.Multiple(() =>
        {
            Assert.That(reading.Joules, Is.EqualTo(0.44 * 0.1).Within(1e-9));
            Assert.That(reading.MeanWatts, Is.EqualTo(0.44).Within(1e-9));
            Assert.That(reading.MeanVolts, Is.EqualTo(1.1).Within(1e-9));
            Assert.That(reading.MeanAmps, Is.EqualTo(0.4).Within(1e-9));
            Assert.That(reading.Duration, Is.EqualTo(TimeSpan.FromMilliseconds(100)));
            Assert.That(reading.Samples, Is.EqualTo(12), "start + 10 ticks + stop");
            Assert.That(meter.IsRunning, Is.False);
        });
    }

    [Test]
    public void Power_ramp_integrates_exactly_including_a_partial_last_interval()
    {
        var clock = new ManualTimeProvider();
        clock.Advance(TimeSpan.FromMilliseconds(100));
        // 0.5 A at a voltage rising 2 V/s: power rises linearly, which the trapezoid rule integrates exactly.
        var monitor = new ProfilePowerMonitor(clock, t => (0.8 + 2 * t, 0.5));
        var interval = TimeSpan.FromMilliseconds(5);
        using var meter = new EnergyMeter(monitor, interval, clock);

        meter.Start();
        Tick(clock, meter, 40, interval);
        clock.Advance(TimeSpan.FromMilliseconds(3));
        var reading = meter.Stop();

        double t0 = 0.100, t1 = 0.303, span = t1 - t0;
        double joules = 0.4 * span + (t1 * t1 - t0 * t0) / 2;
        Assert.Multiple(() =>
        {
            Assert.That(reading.Joules, Is.EqualTo(joules).Within(1e-9));
            Assert.That(reading.MeanWatts, Is.EqualTo(joules / span).Within(1e-9));
            Assert.That(reading.MeanVolts, Is.EqualTo(0.8 + (t0 + t1)).Within(1e-9));
            Assert.That(reading.MeanAmps, Is.EqualTo(0.5).Within(1e-9));
            Assert.That(reading.Duration, Is.EqualTo(TimeSpan.FromMilliseconds(203)));
            Assert.That(reading.Samples, Is.EqualTo(42));
        });
    }

    [Test]
    public void Samples_stay_on_the_grid_and_skip_missed_ticks()
    {
        var clock = new ManualTimeProvider();
        var monitor = new ProfilePowerMonitor(clock, t => (1.0, t));
        using var meter = new EnergyMeter(monitor, Interval, clock);
        meter.Start();
        clock.WaitForTimers();
        clock.Advance(TimeSpan.FromMilliseconds(35)); // the 10, 20 and 30 ms ticks collapse into one late sample
        Assert.That(SpinWait.SpinUntil(() => meter.SampleCount == 2, TimeSpan.FromSeconds(10)), Is.True);
        clock.WaitForTimers();
        clock.Advance(TimeSpan.FromMilliseconds(4));
        Assert.That(meter.SampleCount, Is.EqualTo(2), "next tick is at 40 ms, not 45 ms");
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.That(SpinWait.SpinUntil(() => meter.SampleCount == 3, TimeSpan.FromSeconds(10)), Is.True, "sample at 40 ms");
        var reading = meter.Stop();
        // Current equals elapsed seconds at 1 V; ∫t dt from 0 to 0.04 s.
        Assert.That(reading.Joules, Is.EqualTo(0.04 * 0.04 / 2).Within(1e-12));
        Assert.That(reading.Samples, Is.EqualTo(4));
    }

    [Test]
    public void Zero_length_measurement_reports_plain_means()
    {
        var clock = new ManualTimeProvider();
        var monitor = new ProfilePowerMonitor(clock, _ => (1.2, 0.25));
        using var meter = new EnergyMeter(monitor, Interval, clock);
        var (result, reading) = meter.Measure(() => 42);
        Assert.Multiple(() =>
        {
            Assert.That(result, Is.EqualTo(42));
            Assert.That(reading.Joules, Is.Zero);
            Assert.That(reading.Duration, Is.EqualTo(TimeSpan.Zero));
            Assert.That(reading.MeanWatts, Is.EqualTo(0.3).Within(1e-12));
            Assert.That(reading.Samples, Is.EqualTo(2));
        });
    }

    [Test]
    public void Restart_resets_totals()
    {
        var clock = new ManualTimeProvider();
        var monitor = new ProfilePowerMonitor(clock, _ => (1.0, 1.0));
        using var meter = new EnergyMeter(monitor, Interval, clock);
        meter.Start();
        Tick(clock, meter, 3, Interval);
        Assert.That(meter.Stop().Joules, Is.EqualTo(0.03).Within(1e-12));
        meter.Start();
        Tick(clock, meter, 1, Interval);
        var second = meter.Stop();
        Assert.That(second.Joules, Is.EqualTo(0.01).Within(1e-12));
        Assert.That(second.Samples, Is.EqualTo(3));
    }

    [Test]
    public void Misuse_is_refused()
    {
        var clock = new ManualTimeProvider();
        var monitor = new ProfilePowerMonitor(clock, _ => (1.0, 1.0));
        using var meter = new EnergyMeter(monitor, Interval, clock);
        Assert.That(() => meter.Stop(), Throws.InvalidOperationException.With.Message.Contains("not running"));
        meter.Start();
        Assert.That(() => meter.Start(), Throws.InvalidOperationException.With.Message.Contains("already running"));
        meter.Stop();
        Assert.That(() => new EnergyMeter(monitor, TimeSpan.Zero), Throws.TypeOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void Monitor_failure_in_the_loop_surfaces_at_stop()
    {
        var clock = new ManualTimeProvider();
        // Each sample is three reads; the second loop sample fails on its second read (read 8).
        var monitor = new ProfilePowerMonitor(clock, _ => (1.0, 1.0)) { FailAfterReads = 7 };
        using var meter = new EnergyMeter(monitor, Interval, clock);
        meter.Start();
        Tick(clock, meter, 1, Interval);
        clock.WaitForTimers();
        clock.Advance(Interval);
        Assert.That(SpinWait.SpinUntil(() => monitor.Reads >= 8, TimeSpan.FromSeconds(10)), Is.True);
        Assert.That(() => meter.Stop(), Throws.InvalidOperationException
            .With.Message.StartsWith("power monitor profile monitor failed after 2 samples: Error 121"));
        Assert.That(meter.IsRunning, Is.False);
    }

    [Test]
    public void Work_exception_wins_and_the_meter_stops()
    {
        var clock = new ManualTimeProvider();
        var monitor = new ProfilePowerMonitor(clock, _ => (1.0, 1.0));
        using var meter = new EnergyMeter(monitor, Interval, clock);
        Assert.That(() => meter.Measure<int>(() => throw new FormatException("work failed")), Throws.TypeOf<FormatException>());
        Assert.That(meter.IsRunning, Is.False);
    }

    [Test]
    public void Real_clock_sampling_is_thread_safe()
    {
        var monitor = new ProfilePowerMonitor(new ManualTimeProvider(), _ => (0.9, 0.5));
        using var meter = new EnergyMeter(monitor, TimeSpan.FromMilliseconds(1));
        meter.Start();
        int bad = 0;
        var readers = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            for (int i = 0; i < 200; i++)
            {
                var snapshot = meter.Snapshot();
                if (snapshot is null || snapshot.Samples < 1 || !(Math.Abs(snapshot.MeanWatts - 0.45) < 1e-12))
                {
                    Interlocked.Increment(ref bad);
                }

                Thread.Yield();
            }
        })).ToArray();
        Thread.Sleep(60);
        Task.WaitAll(readers);
        var reading = meter.Stop();
        Assert.Multiple(() =>
        {
            Assert.That(bad, Is.Zero, "inconsistent snapshots");
            Assert.That(reading.Samples, Is.GreaterThanOrEqualTo(3));
            Assert.That(reading.Duration, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(50)));
            Assert.That(reading.Joules, Is.EqualTo(0.45 * reading.Duration.TotalSeconds).Within(1e-12));
            Assert.That(reading.MeanWatts, Is.EqualTo(0.45).Within(1e-12));
        });
    }

    [Test]
    public void Reading_round_trips_through_results_json()
    {
        var options = new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
        var reading = new EnergyReading(0.0123, 0.65, 0.41, 0.2665, TimeSpan.FromMilliseconds(46.25), 24);
        string json = JsonSerializer.Serialize(reading, options);
        Assert.That(json, Does.Contain("\"joules\":0.0123").And.Contain("\"duration_seconds\":0.04625").And.Contain("\"samples\":24"));
        Assert.That(JsonSerializer.Deserialize<EnergyReading>(json, options), Is.EqualTo(reading));
    }
}
