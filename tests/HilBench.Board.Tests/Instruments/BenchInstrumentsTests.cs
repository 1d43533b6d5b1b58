using HilBench.Board.Instruments;
using NUnit.Framework;

namespace HilBench.Board.Tests.Instruments;

[TestFixture]
public class BenchInstrumentsTests
{
    // No host has 240 I2C buses or SPI controllers, so these device files are missing everywhere.
    private const int MissingBus = 239;

    [Test]
    public void Missing_i2c_bus_names_chip_bus_and_address()
    {
        var ex = Assert.Throws<InstrumentUnavailableException>(() => BenchInstruments.OpenIna219(MissingBus, 0x41));
        Assert.Multiple(() =>
        {
            Assert.That(ex!.Message, Does.StartWith("INA219 on I2C bus 239 at address 0x41: "));
            Assert.That(ex.Message, Does.Contain("/dev/i2c-239"));
            Assert.That(ex.DevicePath, Is.EqualTo("/dev/i2c-239"));
        });
        if (OperatingSystem.IsLinux())
        {
            Assert.That(ex!.Message, Does.Contain("/dev/i2c-239 does not exist; enable I2C"));
        }
    }

    [Test]
    public void Missing_i2c_bus_for_ina236()
    {
        var ex = Assert.Throws<InstrumentUnavailableException>(() => BenchInstruments.OpenIna236(MissingBus, 0x45));
        Assert.That(ex!.Message, Does.StartWith("INA236 on I2C bus 239 at address 0x45: "));
    }

    [Test]
    public void Missing_spi_bus_names_bus_and_chip_select()
    {
        var options = new Ad5328Options(2.5, 2.5, [new SupplyChannelConfig(0, RailTransfer.Identity, 0.5, 1.5)]);
        var ex = Assert.Throws<InstrumentUnavailableException>(() => BenchInstruments.OpenAd5328(MissingBus, 1, options));
        Assert.Multiple(() =>
        {
            Assert.That(ex!.Message, Does.StartWith("AD5328 on SPI bus 239 chip select 1: "));
            Assert.That(ex.DevicePath, Is.EqualTo("/dev/spidev239.1"));
        });
    }

    [Test]
    public void Addresses_outside_the_chips_straps_are_refused()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => BenchInstruments.OpenIna219(1, 0x50), Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("0x40-0x4F"));
            Assert.That(() => BenchInstruments.OpenIna236(1, 0x48), Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("0x40-0x47"));
        });
    }
}
