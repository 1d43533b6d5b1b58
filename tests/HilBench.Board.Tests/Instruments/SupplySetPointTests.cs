using HilBench.Board.Instruments;
using HilBench.Board.Tests.Instruments.Simulation;
using NUnit.Framework;

namespace HilBench.Board.Tests.Instruments;

[TestFixture]
public class SupplySetPointTests
{
    // A trim DAC into the feedback node: 1.5 V at 0 V out, falling 0.4 V per DAC volt.
    private static readonly RailTransfer Trim = new(1.5, -0.4);

    private static (Ad5328SupplySetPoint SetPoint, SimulatedSpiDevice Spi) Create(params SupplyChannelConfig[] channels)
    {
        var spi = new SimulatedSpiDevice(2.5, 2.048);
        return (new Ad5328SupplySetPoint(spi, new Ad5328Options(2.5, 2.048, channels)), spi);
    }

    [TestCase(1.0, 2.5, 1638)] // 1638.4
    [TestCase(1.00006103515625, 2.5, 1639)] // exactly 1638.5: ties go up
    [TestCase(1.0, 2.048, 2000)]
    [TestCase(0.0, 2.5, 0)]
    [TestCase(2.5 * 4095 / 4096, 2.5, 4095)]
    [TestCase(2.5, 2.5, 4095)] // 4096 does not exist
    [TestCase(3.3, 2.5, 4095)]
    [TestCase(-0.2, 2.5, 0)]
    public void Code_rounds_to_nearest_and_clamps(double dacVolts, double vref, int expected) =>
        Assert.That(Ad5328SupplySetPoint.CodeFor(dacVolts, vref), Is.EqualTo(expected));

    [Test]
    public void Identity_channels_write_channel_and_code_against_their_half_of_the_chip()
    {
        // Channels 0-3 take VREF A (2.5 V here), channels 4-7 VREF B (2.048 V).
        var (setPoint, spi) = Create(new SupplyChannelConfig(5, RailTransfer.Identity, 0.1, 2.0), new SupplyChannelConfig(1, RailTransfer.Identity, 0.1, 2.4));
        double rail5 = setPoint.SetVolts(5, 1.0);
        double rail1 = setPoint.SetVolts(1, 1.0);
        Assert.Multiple(() =>
        {
            Assert.That(spi.Frames.Select(f => f.Raw), Is.EqualTo(new ushort[] { 0x57D0, 0x1666 }), "code 2000 on F, 1638 on B");
            Assert.That(rail5, Is.EqualTo(1.0).Within(1e-15));
            Assert.That(rail1, Is.EqualTo(2.5 * 1638 / 4096).Within(1e-15));
            Assert.That(setPoint.LastCode(1), Is.EqualTo(1638));
            Assert.That(setPoint.LastCode(2), Is.Null);
            Assert.That(setPoint.Channels, Is.EqualTo(new[] { 1, 5 }));
        });
    }

    [Test]
    public void Transfer_function_maps_rail_to_dac_code()
    {
        var (setPoint, spi) = Create(new SupplyChannelConfig(2, Trim, 0.6, 1.4));
        double rail = setPoint.SetVolts(2, 1.0);
        Assert.Multiple(() =>
        {
            Assert.That(spi.Frames.Single(), Is.EqualTo(new Ad5328Frame(0x2800, false, 2, 2048)), "DAC 1.25 V = code 2048");
            Assert.That(rail, Is.EqualTo(1.0).Within(1e-15));
            Assert.That(setPoint.GetRange(2), Is.EqualTo(new SupplyRange(0.6, 1.4, 0.4 * 2.5 / 4096)));
            Assert.That(setPoint.GetTransfer(2), Is.EqualTo(Trim));
        });

        // 0.65 V needs 2.125 V = code 3481.6 -> 3482; the rail lands within half a step.
        double rounded = setPoint.SetVolts(2, 0.65);
        Assert.That(spi.CodeOf(2), Is.EqualTo(3482));
        Assert.That(rounded, Is.EqualTo(1.5 - 0.4 * 2.5 * 3482 / 4096).Within(1e-15));
        Assert.That(Math.Abs(rounded - 0.65), Is.LessThanOrEqualTo(setPoint.GetRange(2).ResolutionVolts / 2));
    }

    [Test]
    public void Seeded_requests_land_within_half_a_step()
    {
        var rng = new Random(5328);
        var (setPoint, spi) = Create(new SupplyChannelConfig(6, new RailTransfer(0.3, 0.5), 0.35, 1.3));
        double step = setPoint.GetRange(6).ResolutionVolts;
        for (int i = 0; i < 500; i++)
        {
            double request = 0.35 + rng.NextDouble() * 0.95;
            double rail = setPoint.SetVolts(6, request);
            Assert.That(Math.Abs(rail - request), Is.LessThanOrEqualTo(step / 2 + 1e-15));
            Assert.That(0.3 + 0.5 * spi.OutputVolts(6), Is.EqualTo(rail).Within(1e-15), "the simulated DAC agrees with the host");
        }
    }

    [TestCase(0.55, "refusing to set channel 2 to 0.550 V, below the host-side floor (allowed 0.600..1.400 V)")]
    [TestCase(1.45, "refusing to set channel 2 to 1.450 V, above the host-side ceiling (allowed 0.600..1.400 V)")]
    public void Floor_and_ceiling_refuse_without_touching_the_dac(double volts, string message)
    {
        var (setPoint, spi) = Create(new SupplyChannelConfig(2, Trim, 0.6, 1.4));
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => setPoint.SetVolts(2, volts));
        Assert.That(ex!.Message, Does.StartWith("AD5328 on SPI bus 0 chip select 0: " + message));
        Assert.That(spi.Frames, Is.Empty);
    }

    [Test]
    public void Non_finite_and_unknown_channels_are_refused()
    {
        var (setPoint, spi) = Create(new SupplyChannelConfig(2, Trim, 0.6, 1.4));
        Assert.Multiple(() =>
        {
            Assert.That(() => setPoint.SetVolts(2, double.NaN), Throws.TypeOf<ArgumentOutOfRangeException>());
            Assert.That(() => setPoint.SetVolts(3, 1.0), Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("channel 3 has no regulator configured (configured: 2)"));
            Assert.That(spi.Frames, Is.Empty);
        });
    }

    [Test]
    public void Misconfiguration_is_refused_at_construction()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => Create(new SupplyChannelConfig(8, RailTransfer.Identity, 0.1, 1)), Throws.ArgumentException.With.Message.Contains("channels 0-7"));
            Assert.That(() => Create(new SupplyChannelConfig(0, new RailTransfer(1, 0), 0.1, 1)), Throws.ArgumentException.With.Message.Contains("non-zero gain"));
            Assert.That(() => Create(new SupplyChannelConfig(0, RailTransfer.Identity, 1.0, 0.5)), Throws.ArgumentException.With.Message.Contains("floor < ceiling"));
            Assert.That(() => Create(new SupplyChannelConfig(0, RailTransfer.Identity, 0.5, 2.6)),
                Throws.ArgumentException.With.Message.Contains("rail 2.600 V needs 2.600 V from the DAC, outside its 0..2.499 V output"));
            Assert.That(() => Create(new SupplyChannelConfig(0, Trim, 0.4, 1.4)), Throws.ArgumentException.With.Message.Contains("rail 0.400 V needs 2.750 V"));
            Assert.That(() => Create(new SupplyChannelConfig(0, RailTransfer.Identity, 0.1, 1), new SupplyChannelConfig(0, RailTransfer.Identity, 0.1, 1)),
                Throws.ArgumentException.With.Message.Contains("configured twice"));
            Assert.That(() => new Ad5328SupplySetPoint(new SimulatedSpiDevice(), new Ad5328Options(6.0, 2.5, [new SupplyChannelConfig(0, RailTransfer.Identity, 0.1, 1)])),
                Throws.ArgumentException.With.Message.Contains("0.25..5.5 V"));
        });
    }

    [Test]
    public void Set_point_owns_its_device()
    {
        var (setPoint, spi) = Create(new SupplyChannelConfig(0, RailTransfer.Identity, 0.1, 1));
        setPoint.Dispose();
        Assert.That(spi.Disposed, Is.True);
        Assert.That(() => setPoint.SetVolts(0, 0.5), Throws.TypeOf<ObjectDisposedException>());
    }
}
