using HilBench.Board.Instruments;
using HilBench.Board.Tests.Instruments.Simulation;
using NUnit.Framework;

namespace HilBench.Board.Tests.Instruments;

[TestFixture]
public class BenchRigTests
{
    private static readonly RailTransfer Trim = new(1.5, -0.4);

    private static readonly BenchRigOptions Fast = new()
    {
        RailChannel = 0,
        SettleTime = TimeSpan.FromMilliseconds(5),
        VerifyPollInterval = TimeSpan.FromMilliseconds(2),
        VerifyTimeout = TimeSpan.FromMilliseconds(50),
        ToleranceVolts = 0.010,
        SampleInterval = TimeSpan.FromMilliseconds(2),
    };

    /// <summary>An INA219 on a rail whose regulator an AD5328 channel trims, all on one simulated clock.</summary>
    private sealed class Board : IDisposable
    {
        public Board(RailTransfer? actualRegulator = null, bool autoAdvance = true)
        {
            Clock = new ManualTimeProvider { AutoAdvance = autoAdvance };
            Rail = new SimulatedRail(Clock) { Volts = 0.712, LoadOhms = 4, ResponseDelay = TimeSpan.FromMilliseconds(12) };
            Chip = new SimulatedIna219(Rail, 0.1);
            Spi = new SimulatedSpiDevice();
            Spi.Connect(0, Rail, actualRegulator ?? Trim);
            Monitor = new Ina219PowerMonitor(Chip);
            Supply = new Ad5328SupplySetPoint(Spi, new Ad5328Options(2.5, 2.5, [new SupplyChannelConfig(0, Trim, 0.6, 1.4)]));
        }

        public ManualTimeProvider Clock { get; }

        public SimulatedRail Rail { get; }

        public SimulatedIna219 Chip { get; }

        public SimulatedSpiDevice Spi { get; }

        public Ina219PowerMonitor Monitor { get; }

        public Ad5328SupplySetPoint Supply { get; }

        public BenchRig Rig(BenchRigOptions? options = null, bool monitor = true, bool supply = true) =>
            new(monitor ? Monitor : null, supply ? Supply : null, options ?? Fast, Clock);

        public void Dispose()
        {
            Monitor.Dispose();
            Supply.Dispose();
        }
    }

    [Test]
    public void Rail_that_follows_is_verified_after_it_settles()
    {
        using var board = new Board();
        using var rig = board.Rig();

        var setting = rig.SetRail(0.65);

        // DAC 2.125 V -> code 3482 -> 0.64990 V; the INA219 reads 162 * 4 mV.
        Assert.Multiple(() =>
        {
            Assert.That(board.Spi.Frames.Single().Code, Is.EqualTo(3482));
            Assert.That(setting.RequestedVolts, Is.EqualTo(0.65));
            Assert.That(setting.ExpectedVolts, Is.EqualTo(1.5 - 0.4 * 2.5 * 3482 / 4096).Within(1e-15));
            Assert.That(setting.MeasuredVolts, Is.EqualTo(0.648).Within(1e-12));
            // Checks at 5, 7, 9 and 11 ms still see the old rail; the regulator arrives at 12 ms.
            Assert.That(setting.Checks, Is.EqualTo(5));
            Assert.That(board.Clock.Now, Is.EqualTo(TimeSpan.FromMilliseconds(13)));
            Assert.That(rig.LastSetting, Is.EqualTo(setting));
        });
    }

    [Test]
    public void Rail_that_does_not_follow_fails_with_a_wiring_hint()
    {
        using var board = new Board();
        board.Spi.Disconnected = true;
        using var rig = board.Rig();

        var ex = Assert.Throws<RailVerificationException>(() => rig.SetRail(0.65));

        Assert.Multiple(() =>
        {
            Assert.That(ex!.Message, Does.StartWith("rail reads 0.712 V after setting 0.650 V; check the DAC wiring or the regulator"));
            Assert.That(ex.Message, Does.Contain("expected 0.6499 V ± 0.010 V from AD5328 on SPI bus 0 chip select 0 channel 0"));
            Assert.That(ex.Message, Does.Contain("by INA219 on I2C bus 1 at 0x40"));
            Assert.That(ex.MeasuredVolts, Is.EqualTo(0.712).Within(1e-12));
            Assert.That(ex.RequestedVolts, Is.EqualTo(0.65));
            Assert.That(board.Clock.Now, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(55)), "waited settle + timeout");
            Assert.That(rig.LastSetting, Is.Null);
        });
    }

    [Test]
    public void Regulator_with_a_different_transfer_is_caught()
    {
        // The hardware trims 0.3 V per DAC volt, not the 0.4 V the host was told.
        using var board = new Board(actualRegulator: new RailTransfer(1.5, -0.3));
        using var rig = board.Rig();
        var ex = Assert.Throws<RailVerificationException>(() => rig.SetRail(0.65));
        // 1.5 - 0.3 * 2.12524 = 0.86243 V, read as 216 * 4 mV.
        Assert.That(ex!.Message, Does.StartWith("rail reads 0.864 V after setting 0.650 V"));
    }

    [Test]
    public void Out_of_range_request_is_refused_before_the_dac_moves()
    {
        using var board = new Board();
        using var rig = board.Rig();
        Assert.That(() => rig.SetRail(0.5), Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("below the host-side floor"));
        Assert.That(board.Spi.Frames, Is.Empty);
    }

    [Test]
    public void Rig_without_a_monitor_sets_and_settles_only()
    {
        using var board = new Board();
        using var rig = board.Rig(monitor: false);
        var setting = rig.SetRail(1.0);
        Assert.Multiple(() =>
        {
            Assert.That(setting.MeasuredVolts, Is.Null);
            Assert.That(setting.Checks, Is.Zero);
            Assert.That(board.Spi.CodeOf(0), Is.EqualTo(2048));
            Assert.That(board.Clock.Now, Is.EqualTo(TimeSpan.FromMilliseconds(5)));
        });
    }

    [Test]
    public void Rig_without_a_set_point_cannot_set_the_rail()
    {
        using var board = new Board();
        using var rig = board.Rig(supply: false);
        Assert.That(() => rig.SetRail(1.0), Throws.InvalidOperationException.With.Message.Contains("no supply set point"));
    }

    [Test]
    public void Configuration_mistakes_are_refused()
    {
        using var board = new Board();
        Assert.Multiple(() =>
        {
            Assert.That(() => board.Rig(Fast with { ToleranceVolts = 0.001 }),
                Throws.ArgumentException.With.Message.Contains("finer than INA219 on I2C bus 1 at 0x40 (shunt 0.100 Ω)'s 0.0040 V step"));
            Assert.That(() => board.Rig(Fast with { RailChannel = 3 }), Throws.ArgumentException.With.Message.Contains("rail channel 3 is not configured"));
        });
    }

    [Test]
    public void Energy_of_the_work_is_measured_on_the_rail()
    {
        using var board = new Board(autoAdvance: false);
        board.Rail.LoadOhms = null;
        board.Rail.Volts = 1.2;
        board.Rail.Amps = 0.5;
        using var rig = board.Rig(Fast with { SampleInterval = TimeSpan.FromMilliseconds(2) });

        var (result, energy) = rig.MeasureEnergy(() =>
        {
            for (int i = 0; i < 5; i++)
            {
                board.Clock.WaitForTimers();
                board.Clock.Advance(TimeSpan.FromMilliseconds(2));
            }

            board.Clock.WaitForTimers();
            return "done";
        });

        Assert.Multiple(() =>
        {
            Assert.That(result, Is.EqualTo("done"));
            Assert.That(energy, Is.Not.Null);
            Assert.That(energy!.Joules, Is.EqualTo(0.6 * 0.010).Within(1e-12), "1.2 V * 0.5 A for 10 ms");
            Assert.That(energy.MeanVolts, Is.EqualTo(1.2).Within(1e-12));
            Assert.That(energy.MeanAmps, Is.EqualTo(0.5).Within(1e-12));
            Assert.That(energy.Duration, Is.EqualTo(TimeSpan.FromMilliseconds(10)));
            Assert.That(energy.Samples, Is.EqualTo(7));
        });
    }

    [Test]
    public void Rig_without_a_monitor_runs_the_work_and_reports_no_energy()
    {
        using var rig = new BenchRig(null, null);
        var (result, energy) = rig.MeasureEnergy(() => 7);
        Assert.That(result, Is.EqualTo(7));
        Assert.That(energy, Is.Null);
    }

    [Test]
    public void Rig_disposes_the_instruments_it_owns()
    {
        var board = new Board();
        board.Rig().Dispose();
        Assert.That(board.Chip.Disposed && board.Spi.Disposed, Is.True);

        var kept = new Board();
        kept.Rig(Fast with { OwnsInstruments = false }).Dispose();
        Assert.That(kept.Chip.Disposed || kept.Spi.Disposed, Is.False);
        kept.Dispose();
    }
}
