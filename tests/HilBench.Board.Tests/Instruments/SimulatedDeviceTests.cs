using System.Buffers.Binary;
using HilBench.Board.Tests.Instruments.Simulation;
using NUnit.Framework;

namespace HilBench.Board.Tests.Instruments;

/// <summary>The simulated register maps against values worked out by hand from the datasheets.</summary>
[TestFixture]
public class SimulatedDeviceTests
{
    private static ushort ReadRaw(SimulatedI2cDevice chip, byte register)
    {
        Span<byte> buffer = stackalloc byte[2];
        chip.Write([register]);
        chip.Read(buffer);
        return BinaryPrimitives.ReadUInt16BigEndian(buffer);
    }

    private static void WriteRaw(SimulatedI2cDevice chip, byte register, ushort value) =>
        chip.Write([register, (byte)(value >> 8), (byte)value]);

    [Test]
    public void Ina219_registers_match_datasheet_arithmetic()
    {
        // 1.2 V, 0.5 A through 0.1 Ω, CAL 4096 (the datasheet's own example value for 0.1 Ω and 100 µA/LSB).
        var chip = new SimulatedIna219(new SimulatedRail { Volts = 1.2, Amps = 0.5 }, 0.1);
        WriteRaw(chip, 0x05, 4096);

        Assert.Multiple(() =>
        {
            Assert.That(ReadRaw(chip, 0x00), Is.EqualTo(0x399F), "power-on configuration");
            Assert.That(ReadRaw(chip, 0x01), Is.EqualTo(0x1388), "50 mV / 10 µV = 5000");
            Assert.That(ReadRaw(chip, 0x02), Is.EqualTo(0x0962), "1.2 V / 4 mV = 300, << 3, CNVR set");
            Assert.That(ReadRaw(chip, 0x04), Is.EqualTo(0x1388), "5000 * 4096 / 4096");
            Assert.That(ReadRaw(chip, 0x03), Is.EqualTo(0x012C), "5000 * 300 / 5000 = 300");
            Assert.That(ReadRaw(chip, 0x05), Is.EqualTo(0x1000));
        });
    }

    [Test]
    public void Ina219_shunt_register_is_twos_complement_and_clamped_to_the_pga_range()
    {
        var rail = new SimulatedRail { Volts = 1.0, Amps = 3.2 };
        var chip = new SimulatedIna219(rail, 0.1);
        Assert.That(ReadRaw(chip, 0x01), Is.EqualTo(0x7D00), "+320 mV, datasheet table 7");
        rail.Amps = -3.2;
        Assert.That(ReadRaw(chip, 0x01), Is.EqualTo(0x8300), "-320 mV, datasheet table 7");
        rail.Amps = -0.0003;
        Assert.That(ReadRaw(chip, 0x01), Is.EqualTo(0xFFFD), "-30 µV");

        // PGA /1 (±40 mV): configuration bits 12..11 = 00.
        WriteRaw(chip, 0x00, 0x019F);
        rail.Amps = 1.0;
        Assert.That(ReadRaw(chip, 0x01), Is.EqualTo(4000), "100 mV clamps to +40 mV");
    }

    [Test]
    public void Ina219_reset_restores_defaults_and_calibration_bit0_is_void()
    {
        var chip = new SimulatedIna219(new SimulatedRail { Volts = 1, Amps = 0.1 }, 0.1);
        WriteRaw(chip, 0x00, 0x019F);
        WriteRaw(chip, 0x05, 0x1001);
        Assert.That(ReadRaw(chip, 0x05), Is.EqualTo(0x1000));
        WriteRaw(chip, 0x04, 0x1234);
        WriteRaw(chip, 0x00, 0x8000);
        Assert.Multiple(() =>
        {
            Assert.That(ReadRaw(chip, 0x00), Is.EqualTo(0x399F));
            Assert.That(ReadRaw(chip, 0x05), Is.EqualTo(0));
            Assert.That(ReadRaw(chip, 0x04), Is.EqualTo(0), "no current until calibrated");
        });
    }

    [Test]
    public void Ina236_registers_match_datasheet_arithmetic()
    {
        // 1.2 V, 2 A through 8 mΩ, CAL 2048.
        var chip = new SimulatedIna236(new SimulatedRail { Volts = 1.2, Amps = 2.0 }, 0.008);
        WriteRaw(chip, 0x05, 2048);
        Assert.Multiple(() =>
        {
            Assert.That(ReadRaw(chip, 0x00), Is.EqualTo(0x4127), "power-on configuration");
            Assert.That(ReadRaw(chip, 0x01), Is.EqualTo(0x1900), "16 mV / 2.5 µV = 6400");
            Assert.That(ReadRaw(chip, 0x02), Is.EqualTo(0x02EE), "1.2 V / 1.6 mV = 750");
            Assert.That(ReadRaw(chip, 0x04), Is.EqualTo(0x1900), "6400 * 2048 / 2048");
            Assert.That(ReadRaw(chip, 0x03), Is.EqualTo(0x00F0), "6400 * 750 / 20000 = 240");
            Assert.That(ReadRaw(chip, 0x3E), Is.EqualTo(0x5449), "\"TI\"");
            Assert.That(ReadRaw(chip, 0x3F) & 0xFFF0, Is.EqualTo(0xA080));
        });
    }

    [Test]
    public void Ina236_adcrange_selects_the_finer_shunt_lsb()
    {
        var chip = new SimulatedIna236(new SimulatedRail { Volts = 1, Amps = 1.0 }, 0.01);
        Assert.That(ReadRaw(chip, 0x01), Is.EqualTo(4000), "10 mV / 2.5 µV");
        WriteRaw(chip, 0x00, 0x4127 | 0x1000);
        Assert.That(ReadRaw(chip, 0x01), Is.EqualTo(16000), "10 mV / 625 nV");
    }

    [Test]
    public void Write_read_sets_the_pointer_then_reads_big_endian()
    {
        var chip = new SimulatedIna219(new SimulatedRail { Volts = 1.2, Amps = 0 }, 0.1);
        Span<byte> buffer = stackalloc byte[2];
        chip.WriteRead([0x02], buffer);
        Assert.That(buffer.ToArray(), Is.EqualTo(new byte[] { 0x09, 0x62 }));
        // The pointer persists, so a plain read returns the same register.
        chip.Read(buffer);
        Assert.That(buffer.ToArray(), Is.EqualTo(new byte[] { 0x09, 0x62 }));
        Assert.That(chip.Log, Is.EqualTo(new[] { "P02", "R02=0962", "R02=0962" }));
    }

    [Test]
    public void Ad5328_frames_decode_to_channel_and_code()
    {
        // VREF A = 2.5 V for channels 0-3, VREF B = 2.048 V for channels 4-7.
        var spi = new SimulatedSpiDevice(2.5, 2.048);
        spi.Write([0x57, 0xD0, 0x16, 0x66]);
        spi.Write([0xE0, 0x00]);
        Assert.That(spi.Frames, Is.EqualTo(new[]
        {
            new Ad5328Frame(0x57D0, false, 5, 2000),
            new Ad5328Frame(0x1666, false, 1, 1638),
            new Ad5328Frame(0xE000, true, 6, 0),
        }));
        Assert.That(spi.OutputVolts(5), Is.EqualTo(1.0).Within(1e-12), "2.048 V * 2000 / 4096");
        Assert.That(spi.OutputVolts(1), Is.EqualTo(2.5 * 1638 / 4096).Within(1e-12));
        Assert.That(spi.CodeOf(6), Is.Zero, "control words do not load a DAC register");
    }
}
