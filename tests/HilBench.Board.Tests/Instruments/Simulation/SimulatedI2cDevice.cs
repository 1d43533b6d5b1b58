using System.Buffers.Binary;
using System.Device.I2c;

namespace HilBench.Board.Tests.Instruments.Simulation;

/// <summary>An I2C chip with 16-bit big-endian registers behind a pointer register, as the INA2xx family has.</summary>
/// <remarks>
/// A write's first byte sets the pointer; two more bytes write the register. A read returns the register
/// the pointer names, most significant byte first. Measurement registers are recomputed on every read
/// from the simulated rail, as in continuous conversion mode.
/// </remarks>
internal abstract class SimulatedI2cDevice : I2cDevice
{
    private readonly object _gate = new();
    private readonly I2cConnectionSettings _settings;
    private readonly List<string> _log = [];
    private byte _pointer;

    protected SimulatedI2cDevice(SimulatedRail rail, double shuntOhms, int busId, int address)
    {
        Rail = rail;
        ShuntOhms = shuntOhms;
        _settings = new I2cConnectionSettings(busId, address);
    }

    public SimulatedRail Rail { get; }

    public double ShuntOhms { get; }

    /// <summary>When set, every transfer fails as a chip that does not acknowledge would.</summary>
    public bool Absent { get; set; }

    public bool Disposed { get; private set; }

    public IReadOnlyList<string> Log
    {
        get
        {
            lock (_gate)
            {
                return [.. _log];
            }
        }
    }

    public override I2cConnectionSettings ConnectionSettings => _settings;

    /// <summary>Register value as the chip would return it now.</summary>
    public ushort Peek(byte register)
    {
        lock (_gate)
        {
            return ReadRegister(register);
        }
    }

    /// <summary>Register value written by the host (configuration, calibration).</summary>
    public abstract ushort Stored(byte register);

    public override void Read(Span<byte> buffer)
    {
        lock (_gate)
        {
            Check();
            ReadLocked(buffer);
        }
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        lock (_gate)
        {
            Check();
            WriteLocked(buffer);
        }
    }

    public override void WriteRead(ReadOnlySpan<byte> writeBuffer, Span<byte> readBuffer)
    {
        lock (_gate)
        {
            Check();
            WriteLocked(writeBuffer);
            ReadLocked(readBuffer);
        }
    }

    protected abstract ushort ReadRegister(byte register);

    protected abstract void WriteRegister(byte register, ushort value);

    protected static short ClampToInt16(double counts) => (short)Math.Clamp(counts, short.MinValue, short.MaxValue);

    protected override void Dispose(bool disposing)
    {
        Disposed = true;
        base.Dispose(disposing);
    }

    private void Check()
    {
        if (Absent)
        {
            throw new IOException($"Error 121 (Remote I/O error): no acknowledge from 0x{_settings.DeviceAddress:X2}");
        }
    }

    private void WriteLocked(ReadOnlySpan<byte> buffer)
    {
        if (buffer.Length == 0)
        {
            return;
        }

        _pointer = buffer[0];
        if (buffer.Length == 1)
        {
            _log.Add($"P{_pointer:X2}");
            return;
        }

        if (buffer.Length != 3)
        {
            throw new IOException($"a register write is pointer + 2 bytes, got {buffer.Length} bytes");
        }

        ushort value = BinaryPrimitives.ReadUInt16BigEndian(buffer[1..]);
        _log.Add($"W{_pointer:X2}={value:X4}");
        WriteRegister(_pointer, value);
    }

    private void ReadLocked(Span<byte> buffer)
    {
        if (buffer.Length == 0)
        {
            return;
        }

        if (buffer.Length != 2)
        {
            throw new IOException($"registers are 16 bits, a read of {buffer.Length} bytes is not supported");
        }

        ushort value = ReadRegister(_pointer);
        _log.Add($"R{_pointer:X2}={value:X4}");
        BinaryPrimitives.WriteUInt16BigEndian(buffer, value);
    }
}

/// <summary>INA219 register map (datasheet SBOS448): 10 µV shunt LSB, 4 mV bus LSB in bits 15..3, current = shunt·CAL/4096, power = current·bus/5000.</summary>
internal sealed class SimulatedIna219(SimulatedRail rail, double shuntOhms, int busId = 1, int address = 0x40)
    : SimulatedI2cDevice(rail, shuntOhms, busId, address)
{
    public const ushort DefaultConfiguration = 0x399F;

    private ushort _config = DefaultConfiguration;
    private ushort _calibration;

    public override ushort Stored(byte register) => register switch
    {
        0x00 => _config,
        0x05 => _calibration,
        _ => throw new ArgumentOutOfRangeException(nameof(register)),
    };

    /// <summary>Shunt register counts, clamped to the PGA range selected in the configuration.</summary>
    public short ShuntCounts()
    {
        int pga = (_config >> 11) & 0x3;
        int limit = 4000 << pga;
        return (short)Math.Clamp(Math.Round(Rail.Amps * ShuntOhms / 10e-6, MidpointRounding.AwayFromZero), -limit, limit);
    }

    public int BusCounts()
    {
        int limit = (_config & 0x2000) != 0 ? 8191 : 4000;
        return (int)Math.Clamp(Math.Round(Rail.Volts / 4e-3, MidpointRounding.AwayFromZero), 0, limit);
    }

    protected override ushort ReadRegister(byte register)
    {
        switch (register)
        {
            case 0x00:
                return _config;
            case 0x01:
                return (ushort)ShuntCounts();
            case 0x02:
                // CNVR (bit 1) is set because a conversion is always complete; OVF (bit 0) flags a math overflow.
                return (ushort)((BusCounts() << 3) | 0x2 | (Overflow() ? 1 : 0));
            case 0x03:
                return (ushort)Math.Min(Math.Abs(CurrentCounts()) * (long)BusCounts() / 5000, ushort.MaxValue);
            case 0x04:
                return (ushort)ClampToInt16(CurrentCounts());
            case 0x05:
                return _calibration;
            default:
                throw new IOException($"INA219 has no register 0x{register:X2}");
        }
    }

    protected override void WriteRegister(byte register, ushort value)
    {
        switch (register)
        {
            case 0x00 when (value & 0x8000) != 0:
                _config = DefaultConfiguration;
                _calibration = 0;
                break;
            case 0x00:
                _config = value;
                break;
            case 0x05:
                // Bit 0 of the calibration register is void and always reads 0.
                _calibration = (ushort)(value & 0xFFFE);
                break;
            default:
                // Measurement registers are read-only; the chip ignores writes to them.
                break;
        }
    }

    private long CurrentCounts() => (long)ShuntCounts() * _calibration / 4096;

    private bool Overflow()
    {
        long current = CurrentCounts();
        return current is > short.MaxValue or < short.MinValue || Math.Abs(current) * BusCounts() / 5000 > ushort.MaxValue;
    }
}

/// <summary>INA236 register map (datasheet SBOSA20): 2.5 µV / 625 nV shunt LSB by ADCRANGE, 1.6 mV bus LSB, current = shunt·CAL/2048, power = current·bus/20000.</summary>
internal sealed class SimulatedIna236(SimulatedRail rail, double shuntOhms, int busId = 1, int address = 0x40)
    : SimulatedI2cDevice(rail, shuntOhms, busId, address)
{
    public const ushort DefaultConfiguration = 0x4127;
    public const ushort ManufacturerId = 0x5449;
    public const ushort DeviceId = 0xA080;

    private ushort _config = DefaultConfiguration;
    private ushort _calibration;
    private ushort _maskEnable;
    private ushort _alertLimit;

    /// <summary>Device-ID register contents; a different chip at the address answers with something else.</summary>
    public ushort ReportedDeviceId { get; set; } = DeviceId;

    public override ushort Stored(byte register) => register switch
    {
        0x00 => _config,
        0x05 => _calibration,
        _ => throw new ArgumentOutOfRangeException(nameof(register)),
    };

    public short ShuntCounts()
    {
        double lsb = (_config & 0x1000) != 0 ? 625e-9 : 2.5e-6;
        return ClampToInt16(Math.Round(Rail.Amps * ShuntOhms / lsb, MidpointRounding.AwayFromZero));
    }

    public int BusCounts() => (int)Math.Clamp(Math.Round(Rail.Volts / 1.6e-3, MidpointRounding.AwayFromZero), 0, 0x7FFF);

    protected override ushort ReadRegister(byte register) => register switch
    {
        0x00 => _config,
        0x01 => (ushort)ShuntCounts(),
        0x02 => (ushort)BusCounts(),
        0x03 => (ushort)Math.Min(Math.Abs(CurrentCounts()) * (long)BusCounts() / 20000, ushort.MaxValue),
        0x04 => (ushort)ClampToInt16(CurrentCounts()),
        0x05 => _calibration,
        0x06 => _maskEnable,
        0x07 => _alertLimit,
        0x3E => ManufacturerId,
        0x3F => ReportedDeviceId,
        _ => throw new IOException($"INA236 has no register 0x{register:X2}"),
    };

    protected override void WriteRegister(byte register, ushort value)
    {
        switch (register)
        {
            case 0x00 when (value & 0x8000) != 0:
                _config = DefaultConfiguration;
                _calibration = 0;
                _maskEnable = 0;
                _alertLimit = 0;
                break;
            case 0x00:
                // Bit 14 is reserved and reads back as 1.
                _config = (ushort)((value & 0x3FFF) | 0x4000);
                break;
            case 0x05:
                // Bit 15 of the calibration register is reserved.
                _calibration = (ushort)(value & 0x7FFF);
                break;
            case 0x06:
                _maskEnable = value;
                break;
            case 0x07:
                _alertLimit = value;
                break;
            default:
                break;
        }
    }

    private long CurrentCounts() => (long)ShuntCounts() * _calibration / 2048;
}
