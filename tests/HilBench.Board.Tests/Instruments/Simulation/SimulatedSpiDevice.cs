using System.Device.Spi;
using HilBench.Board.Instruments;

namespace HilBench.Board.Tests.Instruments.Simulation;

/// <summary>One decoded AD5328 input-shift-register frame.</summary>
/// <param name="Raw">The 16-bit word, MSB first on the wire.</param>
/// <param name="IsControl">Bit 15 set: a control word (gain/buffer, VDD reference, reset, LDAC) rather than a DAC write.</param>
/// <param name="Channel">Bits 14..12 of a DAC write.</param>
/// <param name="Code">Bits 11..0 of a DAC write.</param>
internal readonly record struct Ad5328Frame(ushort Raw, bool IsControl, int Channel, int Code);

/// <summary>An AD5328 on SPI: decodes 16-bit frames, records them, and drives rails through a regulator's transfer function.</summary>
/// <remarks>
/// The regulator model here is the hardware's truth; tests can give it a different transfer than the
/// host is configured with, or disconnect it, to see how the host copes with mis-wiring.
/// </remarks>
internal sealed class SimulatedSpiDevice : SpiDevice
{
    private readonly object _gate = new();
    private readonly List<Ad5328Frame> _frames = [];
    private readonly Dictionary<int, (SimulatedRail Rail, RailTransfer Transfer)> _regulators = [];
    private readonly int[] _codes = new int[8];
    private readonly SpiConnectionSettings _settings;

    public SimulatedSpiDevice(double referenceVoltsA = 2.5, double referenceVoltsB = 2.5, int busId = 0, int chipSelect = 0)
    {
        ReferenceVoltsA = referenceVoltsA;
        ReferenceVoltsB = referenceVoltsB;
        _settings = new SpiConnectionSettings(busId, chipSelect) { Mode = SpiMode.Mode2 };
    }

    public double ReferenceVoltsA { get; }

    public double ReferenceVoltsB { get; }

    /// <summary>When set, frames are recorded but never reach the regulators (a broken DAC output or SYNC line).</summary>
    public bool Disconnected { get; set; }

    public bool Disposed { get; private set; }

    public override SpiConnectionSettings ConnectionSettings => _settings;

    public IReadOnlyList<Ad5328Frame> Frames
    {
        get
        {
            lock (_gate)
            {
                return [.. _frames];
            }
        }
    }

    /// <summary>Wires <paramref name="channel"/>'s output to a regulator feeding <paramref name="rail"/>.</summary>
    public void Connect(int channel, SimulatedRail rail, RailTransfer transfer)
    {
        lock (_gate)
        {
            _regulators[channel] = (rail, transfer);
        }
    }

    public int CodeOf(int channel)
    {
        lock (_gate)
        {
            return _codes[channel];
        }
    }

    /// <summary>Output voltage of a channel per the datasheet: VREF·D/4096 with the gain bit clear.</summary>
    public double OutputVolts(int channel) => (channel <= 3 ? ReferenceVoltsA : ReferenceVoltsB) * CodeOf(channel) / 4096.0;

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (buffer.Length % 2 != 0)
        {
            throw new IOException($"AD5328 frames are 16 bits; {buffer.Length} bytes leave a partial frame");
        }

        for (int i = 0; i < buffer.Length; i += 2)
        {
            Accept((ushort)((buffer[i] << 8) | buffer[i + 1]));
        }
    }

    public override void TransferFullDuplex(ReadOnlySpan<byte> writeBuffer, Span<byte> readBuffer)
    {
        // The AD5328 has no data output; the line floats.
        readBuffer.Fill(0xFF);
        Write(writeBuffer);
    }

    public override void Read(Span<byte> buffer) => buffer.Fill(0xFF);

    protected override void Dispose(bool disposing)
    {
        Disposed = true;
        base.Dispose(disposing);
    }

    private void Accept(ushort word)
    {
        bool control = (word & 0x8000) != 0;
        var frame = new Ad5328Frame(word, control, (word >> 12) & 0x7, word & 0x0FFF);
        (SimulatedRail Rail, RailTransfer Transfer) regulator = default;
        lock (_gate)
        {
            _frames.Add(frame);
            if (control || Disconnected)
            {
                return;
            }

            _codes[frame.Channel] = frame.Code;
            if (!_regulators.TryGetValue(frame.Channel, out regulator))
            {
                return;
            }
        }

        regulator.Rail.Drive(regulator.Transfer.RailVolts(OutputVolts(frame.Channel)));
    }
}
