using System.IO.Ports;

namespace HilBench.Board.Transport;

/// <summary>
/// A board on a serial port through System.IO.Ports: 8N1, no handshake, raw bytes. On Linux the path of a
/// pseudo-terminal (/dev/pts/N, as hilboard-emu prints it) works like a USB serial adapter; the baud rate is then
/// ignored by the link but still sets the time the client allows per frame.
/// </summary>
public sealed class SerialPortTransport : IBoardTransport
{
    public const int DefaultBaudRate = 115200;

    /// <summary>How long a write may block (a stalled link fills the driver's buffer) before the link counts as gone.</summary>
    private static readonly TimeSpan WriteTimeout = TimeSpan.FromSeconds(5);

    private readonly byte[] _readBuffer = new byte[16 * 1024], _writeBuffer = new byte[16 * 1024];
    private SerialPort? _port;

    public SerialPortTransport(string portName, int baudRate = DefaultBaudRate)
    {
        if (string.IsNullOrWhiteSpace(portName)) throw new ArgumentException("a serial port name is empty; give e.g. /dev/ttyUSB0 or COM3", nameof(portName));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(baudRate);
        Name = portName;
        BaudRate = baudRate;
        _port = Open();
    }

    public string Name { get; }

    public int BaudRate { get; }

    public void Write(ReadOnlySpan<byte> bytes)
    {
        var port = Port();
        try
        {
            while (!bytes.IsEmpty)
            {
                int n = Math.Min(bytes.Length, _writeBuffer.Length);
                bytes[..n].CopyTo(_writeBuffer);
                port.Write(_writeBuffer, 0, n);
                bytes = bytes[n..];
            }
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException or ObjectDisposedException or UnauthorizedAccessException or IOException)
        {
            throw Lost("writing to", e);
        }
    }

    public int Read(Span<byte> buffer, TimeSpan timeout)
    {
        var port = Port();
        try
        {
            port.ReadTimeout = (int)Math.Clamp(Math.Ceiling(timeout.TotalMilliseconds), 1, int.MaxValue);
            int n = port.Read(_readBuffer, 0, Math.Min(buffer.Length, _readBuffer.Length));
            _readBuffer.AsSpan(0, n).CopyTo(buffer);
            return n;
        }
        catch (TimeoutException)
        {
            return 0;
        }
        catch (Exception e) when (e is InvalidOperationException or ObjectDisposedException or UnauthorizedAccessException or IOException)
        {
            throw Lost("reading from", e);
        }
    }

    public void Reopen()
    {
        Close();
        _port = Open();
    }

    public TimeSpan TransferTime(int bytes) => TimeSpan.FromSeconds(bytes * 10.0 / BaudRate);

    public void Dispose() => Close();

    public override string ToString() => $"{Name} at {BaudRate} baud";

    private SerialPort Port() => _port ?? throw new IOException($"{Name} is closed");

    private SerialPort Open()
    {
        // A device node that is gone (adapter unplugged, emulator stopped) otherwise surfaces as "access denied".
        if (Path.IsPathRooted(Name) && !File.Exists(Name))
            throw new IOException($"cannot open {Name}: it does not exist (unplugged, or the emulator stopped)");
        var port = new SerialPort(Name, BaudRate, Parity.None, 8, StopBits.One)
        {
            Handshake = Handshake.None,
            ReadBufferSize = 64 * 1024,
            WriteBufferSize = 64 * 1024,
            WriteTimeout = (int)WriteTimeout.TotalMilliseconds,
        };
        try
        {
            port.Open();
            port.DiscardInBuffer();
            return port;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException)
        {
            port.Dispose();
            throw new IOException($"cannot open {Name}: {e.Message}", e);
        }
    }

    private IOException Lost(string doing, Exception e) => new($"the link broke while {doing} {Name}: {e.Message}", e);

    private void Close()
    {
        var port = _port;
        _port = null;
        if (port is null) return;
        try
        {
            port.Close();
        }
        catch (IOException)
        {
            // A port whose other end vanished may fail to close cleanly; it is being thrown away either way.
        }
        port.Dispose();
    }
}
