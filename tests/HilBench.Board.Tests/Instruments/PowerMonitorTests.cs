using HilBench.Board.Instruments;
using HilBench.Board.Tests.Instruments.Simulation;
using NUnit.Framework;

namespace HilBench.Board.Tests.Instruments;

[TestFixture]
public class PowerMonitorTests
{
    [Test]
    public void Ina219_configures_range_pga_and_calibration()
    {
        var chip = new SimulatedIna219(new SimulatedRail { Volts = 1.2, Amps = 0.2 }, 0.1);
        using var monitor = new Ina219PowerMonitor(chip, new Ina219Options { ShuntOhms = 0.1, MaxExpectedAmps = 0.35 });

        Assert.Multiple(() =>
        {
            Assert.That(chip.Log[0], Is.EqualTo("W00=8000"), "reset first");
            Assert.That(chip.Stored(0x00), Is.EqualTo(0x019F), "16 V range, ±40 mV PGA for 35 mV");
            Assert.That(chip.Stored(0x05), Is.EqualTo(4096));
            Assert.That(monitor.PgaFullScaleVolts, Is.EqualTo(0.040));
            Assert.That(monitor.CurrentAmpsLsb, Is.EqualTo(1e-4).Within(1e-18));
            Assert.That(monitor.PowerWattsLsb, Is.EqualTo(2e-3).Within(1e-18));
            Assert.That(monitor.Description, Is.EqualTo("INA219 on I2C bus 1 at 0x40 (shunt 0.100 Ω)"));
        });
    }

    [Test]
    public void Ina219_reads_the_exact_values_of_a_hand_computed_point()
    {
        var chip = new SimulatedIna219(new SimulatedRail { Volts = 1.2, Amps = 0.5 }, 0.1);
        using var monitor = new Ina219PowerMonitor(chip);
        Assert.Multiple(() =>
        {
            Assert.That(monitor.ReadBusVolts(), Is.EqualTo(1.2).Within(1e-12));
            Assert.That(monitor.ReadCurrentAmps(), Is.EqualTo(0.5).Within(1e-12));
            Assert.That(monitor.ReadPowerWatts(), Is.EqualTo(0.6).Within(1e-12));
        });
    }

    [Test]
    public void Ina219_reads_negative_current_with_its_sign()
    {
        // The binding reads the current register unsigned; -3 counts would otherwise come back as +6.5533 A.
        var chip = new SimulatedIna219(new SimulatedRail { Volts = 1.0, Amps = -0.0003 }, 0.1);
        using var monitor = new Ina219PowerMonitor(chip);
        Assert.That(monitor.ReadCurrentAmps(), Is.EqualTo(-0.0003).Within(1e-12));
    }

    [Test]
    public void Ina219_readings_are_within_one_lsb_over_a_seeded_sweep()
    {
        var rng = new Random(219);
        var rail = new SimulatedRail();
        var chip = new SimulatedIna219(rail, 0.1);
        using var monitor = new Ina219PowerMonitor(chip, new Ina219Options { ShuntOhms = 0.1, MaxExpectedAmps = 2.0 });
        for (int i = 0; i < 200; i++)
        {
            rail.Volts = 0.5 + rng.NextDouble();
            rail.Amps = rng.NextDouble() * 2.0;
            AssertWithinOneLsb(monitor, rail);
        }
    }

    [Test]
    public void Ina236_uses_the_binding_with_one_current_count_per_shunt_count()
    {
        var chip = new SimulatedIna236(new SimulatedRail { Volts = 1.2, Amps = 2.0 }, 0.008);
        using var monitor = new Ina236PowerMonitor(chip, new Ina236Options { ShuntOhms = 0.008, MaxExpectedAmps = 8 });
        Assert.Multiple(() =>
        {
            Assert.That(chip.Log, Does.Contain("W00=8000"), "reset");
            Assert.That(chip.Stored(0x05), Is.EqualTo(2048));
            Assert.That(monitor.Calibration, Is.EqualTo(2048));
            Assert.That(monitor.CurrentAmpsLsb, Is.EqualTo(312.5e-6).Within(1e-15));
            Assert.That(monitor.ReadBusVolts(), Is.EqualTo(1.2).Within(1e-12));
            Assert.That(monitor.ReadCurrentAmps(), Is.EqualTo(2.0).Within(1e-12));
            Assert.That(monitor.ReadPowerWatts(), Is.EqualTo(2.4).Within(1e-12));
        });
    }

    [Test]
    public void Ina236_calibration_is_2048_for_any_shunt()
    {
        var rng = new Random(236);
        for (int i = 0; i < 100; i++)
        {
            double ohms = Math.Round(0.001 + rng.NextDouble() * 0.5, 4);
            var chip = new SimulatedIna236(new SimulatedRail { Volts = 1, Amps = 0 }, ohms);
            using var monitor = new Ina236PowerMonitor(chip, new Ina236Options { ShuntOhms = ohms, MaxExpectedAmps = 0.08 / ohms });
            Assert.That(chip.Stored(0x05), Is.EqualTo(2048), $"shunt {ohms} Ω");
            Assert.That(monitor.Calibration, Is.EqualTo(2048));
        }
    }

    [Test]
    public void Ina236_readings_are_within_one_lsb_over_a_seeded_sweep()
    {
        var rng = new Random(2360);
        var rail = new SimulatedRail();
        var chip = new SimulatedIna236(rail, 0.02);
        using var monitor = new Ina236PowerMonitor(chip, new Ina236Options { ShuntOhms = 0.02, MaxExpectedAmps = 4 });
        for (int i = 0; i < 200; i++)
        {
            rail.Volts = 0.5 + rng.NextDouble();
            rail.Amps = -0.5 + rng.NextDouble() * 4.5;
            AssertWithinOneLsb(monitor, rail);
        }
    }

    [Test]
    public void Ina236_refuses_a_different_chip_naming_bus_and_address()
    {
        var chip = new SimulatedIna236(new SimulatedRail(), 0.008, busId: 3, address: 0x44) { ReportedDeviceId = 0x2260 };
        var ex = Assert.Throws<IOException>(() => new Ina236PowerMonitor(chip));
        Assert.That(ex!.Message, Does.StartWith("INA236 on I2C bus 3 at 0x44").And.Contain("2260"));
        Assert.That(chip.Disposed, Is.True, "the device is released on failure");
    }

    [Test]
    public void Silent_chip_fails_with_bus_and_address()
    {
        var chip = new SimulatedIna219(new SimulatedRail(), 0.1, busId: 2, address: 0x41) { Absent = true };
        var ex = Assert.Throws<IOException>(() => new Ina219PowerMonitor(chip));
        Assert.That(ex!.Message, Does.StartWith("INA219 on I2C bus 2 at 0x41").And.Contain("Remote I/O error"));
    }

    [Test]
    public void Read_failure_after_configuration_names_the_monitor()
    {
        var chip = new SimulatedIna219(new SimulatedRail(), 0.1);
        using var monitor = new Ina219PowerMonitor(chip);
        chip.Absent = true;
        var ex = Assert.Throws<IOException>(() => monitor.ReadBusVolts());
        Assert.That(ex!.Message, Does.StartWith("INA219 on I2C bus 1 at 0x40").And.Contain("I2C transfer failed"));
    }

    [Test]
    public void Shunt_ranges_are_checked()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => new Ina219PowerMonitor(new SimulatedIna219(new SimulatedRail(), 0.1), new Ina219Options { ShuntOhms = 0.1, MaxExpectedAmps = 4 }),
                Throws.ArgumentException.With.Message.Contains("400 mV").And.Message.Contains("±320 mV"));
            Assert.That(() => new Ina236PowerMonitor(new SimulatedIna236(new SimulatedRail(), 0.1), new Ina236Options { ShuntOhms = 0.1, MaxExpectedAmps = 1 }),
                Throws.ArgumentException.With.Message.Contains("100 mV").And.Message.Contains("±81.92 mV"));
            Assert.That(() => new Ina219PowerMonitor(new SimulatedIna219(new SimulatedRail(), 0.1), new Ina219Options { ShuntOhms = 0 }),
                Throws.ArgumentException);
        });
    }

    [Test]
    public void Monitors_own_their_devices()
    {
        var a = new SimulatedIna219(new SimulatedRail(), 0.1);
        var b = new SimulatedIna236(new SimulatedRail(), 0.008);
        new Ina219PowerMonitor(a).Dispose();
        new Ina236PowerMonitor(b).Dispose();
        Assert.That(new[] { a.Disposed, b.Disposed }, Is.All.True);
    }

    private static void AssertWithinOneLsb(IPowerMonitor monitor, SimulatedRail rail)
    {
        double volts = monitor.ReadBusVolts();
        double amps = monitor.ReadCurrentAmps();
        double watts = monitor.ReadPowerWatts();
        string at = $"at {rail.Volts:0.000000} V, {rail.Amps:0.000000} A";
        Assert.That(Math.Abs(volts - rail.Volts), Is.LessThanOrEqualTo(monitor.BusVoltsLsb), $"volts {at}");
        Assert.That(Math.Abs(amps - rail.Amps), Is.LessThanOrEqualTo(monitor.CurrentAmpsLsb), $"amps {at}");
        // The power register truncates the product of the chip's own current and bus counts.
        double product = Math.Abs(volts * amps);
        Assert.That(watts, Is.LessThanOrEqualTo(product + 1e-12).And.GreaterThan(product - monitor.PowerWattsLsb), $"watts {at}");
        // Against the true power, the bus and current rounding add at most half a count each.
        double bound = monitor.PowerWattsLsb + rail.Volts * monitor.CurrentAmpsLsb / 2
            + (Math.Abs(rail.Amps) + monitor.CurrentAmpsLsb / 2) * monitor.BusVoltsLsb / 2;
        Assert.That(Math.Abs(watts - rail.Volts * Math.Abs(rail.Amps)), Is.LessThanOrEqualTo(bound + 1e-12), $"true watts {at}");
    }
}
