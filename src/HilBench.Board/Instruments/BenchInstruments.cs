using System.Device.I2c;
using System.Device.Spi;
using System.Globalization;

namespace HilBench.Board.Instruments;

/// <summary>Thrown when a bench instrument's bus cannot be opened.</summary>
public sealed class InstrumentUnavailableException : IOException
{
    /// <summary>Creates the exception.</summary>
    public InstrumentUnavailableException(string message, string devicePath, Exception? inner = null)
        : base(message, inner)
    {
        DevicePath = devicePath;
    }

    /// <summary>The device file the instrument needs, e.g. /dev/i2c-1.</summary>
    public string DevicePath { get; }
}

/// <summary>Opens bench-rig instruments on the host's Linux I2C and SPI buses.</summary>
public static class BenchInstruments
{
    /// <summary>Default AD5328 SPI clock; the chip takes up to 30 MHz, a slow clock tolerates bench wiring.</summary>
    public const int DefaultSpiClockHz = 1_000_000;

    /// <summary>Opens an INA219 at <paramref name="address"/> (0x40-0x4F, set by A0/A1) on /dev/i2c-<paramref name="busId"/>.</summary>
    public static Ina219PowerMonitor OpenIna219(int busId, int address = 0x40, Ina219Options? options = null)
    {
        if (address is < 0x40 or > 0x4F)
        {
            throw new ArgumentOutOfRangeException(nameof(address), address, $"INA219 addresses are 0x40-0x4F, not 0x{address:X2}");
        }

        return new Ina219PowerMonitor(OpenI2c("INA219", busId, address), options);
    }

    /// <summary>Opens an INA236 at <paramref name="address"/> (0x40-0x43 for INA236A, 0x44-0x47 for INA236B) on /dev/i2c-<paramref name="busId"/>.</summary>
    public static Ina236PowerMonitor OpenIna236(int busId, int address = 0x40, Ina236Options? options = null)
    {
        if (address is < 0x40 or > 0x47)
        {
            throw new ArgumentOutOfRangeException(nameof(address), address, $"INA236 addresses are 0x40-0x47, not 0x{address:X2}");
        }

        return new Ina236PowerMonitor(OpenI2c("INA236", busId, address), options);
    }

    /// <summary>Opens an AD5328 on /dev/spidev<paramref name="busId"/>.<paramref name="chipSelect"/> (SPI mode 2, as the chip latches on the falling edge with SCLK idling high).</summary>
    public static Ad5328SupplySetPoint OpenAd5328(int busId, int chipSelect, Ad5328Options options, int clockHz = DefaultSpiClockHz)
    {
        ArgumentNullException.ThrowIfNull(options);
        string where = string.Create(CultureInfo.InvariantCulture, $"AD5328 on SPI bus {busId} chip select {chipSelect}");
        string path = string.Create(CultureInfo.InvariantCulture, $"/dev/spidev{busId}.{chipSelect}");
        // SpiDevice.Create opens the device file lazily, so a missing bus would otherwise surface on the first set-point write.
        RequireDeviceFile(where, path, "enable SPI (e.g. dtparam=spi=on on a Raspberry Pi) or fix the bus and chip-select numbers");
        SpiDevice device;
        try
        {
            device = SpiDevice.Create(new SpiConnectionSettings(busId, chipSelect) { Mode = SpiMode.Mode2, ClockFrequency = clockHz, DataBitLength = 8 });
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or PlatformNotSupportedException or InvalidOperationException)
        {
            throw new InstrumentUnavailableException($"{where}: cannot open {path} ({ex.Message})", path, ex);
        }

        try
        {
            return new Ad5328SupplySetPoint(device, options);
        }
        catch
        {
            device.Dispose();
            throw;
        }
    }

    private static I2cDevice OpenI2c(string chip, int busId, int address)
    {
        string where = string.Create(CultureInfo.InvariantCulture, $"{chip} on I2C bus {busId} at address 0x{address:X2}");
        string path = string.Create(CultureInfo.InvariantCulture, $"/dev/i2c-{busId}");
        RequireDeviceFile(where, path, "enable I2C (e.g. dtparam=i2c_arm=on on a Raspberry Pi, or modprobe i2c-dev) or fix the bus number");
        try
        {
            return I2cDevice.Create(new I2cConnectionSettings(busId, address));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or PlatformNotSupportedException or InvalidOperationException)
        {
            throw new InstrumentUnavailableException($"{where}: cannot open {path} ({ex.Message})", path, ex);
        }
    }

    private static void RequireDeviceFile(string where, string path, string hint)
    {
        if (OperatingSystem.IsLinux() && !File.Exists(path))
        {
            throw new InstrumentUnavailableException($"{where}: {path} does not exist; {hint}", path);
        }
    }
}
