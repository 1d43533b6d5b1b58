namespace HilBench.Board.Transport;

/// <summary>
/// A byte link to a board: a serial port, a pseudo-terminal, or an in-memory pair in tests. Framing, retries and
/// timeouts are the client's; a transport only moves bytes and says when the link itself is gone (an
/// <see cref="IOException"/>, whatever the underlying API throws).
/// </summary>
public interface IBoardTransport : IDisposable
{
    /// <summary>What the user would call the link in a message, e.g. "/dev/ttyUSB0" or "/dev/pts/5".</summary>
    string Name { get; }

    /// <summary>Sends all of <paramref name="bytes"/>; throws <see cref="IOException"/> when the link is gone.</summary>
    void Write(ReadOnlySpan<byte> bytes);

    /// <summary>
    /// Waits up to <paramref name="timeout"/> for bytes and returns how many it put into <paramref name="buffer"/>,
    /// 0 when none arrived in time; throws <see cref="IOException"/> when the link is gone.
    /// </summary>
    int Read(Span<byte> buffer, TimeSpan timeout);

    /// <summary>Closes and opens the link again (a board that was unplugged, an emulator that was restarted on the same path).</summary>
    void Reopen();

    /// <summary>How long the link itself needs to carry <paramref name="bytes"/> (zero for links without a bit rate).</summary>
    TimeSpan TransferTime(int bytes);
}
