namespace HilBench.Board.Transport;

/// <summary>
/// A board behind a pair of streams (an in-process fake board, a TCP bridge). A background reader moves what
/// arrives into a queue, so <see cref="Read"/> can wait with a timeout on any stream, including ones that cannot
/// time out reads themselves. The end of the input stream is a lost link.
/// </summary>
public sealed class StreamTransport : IBoardTransport
{
    private readonly Func<(Stream Input, Stream Output)>? _reopen;
    private readonly object _gate = new();
    private readonly Queue<byte[]> _chunks = new();
    private byte[] _current = [];
    private int _currentOffset;
    private Stream _input = Stream.Null, _output = Stream.Null;
    private Exception? _ended;
    private int _generation;

    /// <param name="reopen">Opens the streams again for <see cref="Reopen"/>; without it a reopen keeps the streams and drops what was received.</param>
    public StreamTransport(Stream input, Stream output, string name = "stream", Func<(Stream Input, Stream Output)>? reopen = null)
    {
        Name = name;
        _reopen = reopen;
        Attach(input, output);
    }

    public string Name { get; }

    public void Write(ReadOnlySpan<byte> bytes)
    {
        try
        {
            _output.Write(bytes);
            _output.Flush();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            throw new IOException($"the link broke while writing to {Name}: {e.Message}", e);
        }
    }

    public int Read(Span<byte> buffer, TimeSpan timeout)
    {
        long deadline = Environment.TickCount64 + (long)Math.Ceiling(timeout.TotalMilliseconds);
        lock (_gate)
        {
            while (_currentOffset == _current.Length)
            {
                if (_chunks.TryDequeue(out var chunk))
                {
                    _current = chunk;
                    _currentOffset = 0;
                    continue;
                }
                if (_ended is not null) throw new IOException($"the link to {Name} is closed: {_ended.Message}", _ended);
                long left = deadline - Environment.TickCount64;
                if (left <= 0 || !Monitor.Wait(_gate, (int)left)) return 0;
            }
            int n = Math.Min(buffer.Length, _current.Length - _currentOffset);
            _current.AsSpan(_currentOffset, n).CopyTo(buffer);
            _currentOffset += n;
            return n;
        }
    }

    public void Reopen()
    {
        if (_reopen is null)
        {
            lock (_gate)
            {
                _chunks.Clear();
                _current = [];
                _currentOffset = 0;
            }
            return;
        }
        Detach();
        var (input, output) = _reopen();
        Attach(input, output);
    }

    public TimeSpan TransferTime(int bytes) => TimeSpan.Zero;

    public void Dispose() => Detach();

    private void Attach(Stream input, Stream output)
    {
        int generation;
        lock (_gate)
        {
            _input = input;
            _output = output;
            _chunks.Clear();
            _current = [];
            _currentOffset = 0;
            _ended = null;
            generation = ++_generation;
        }
        var reader = new Thread(() => Pump(input, generation)) { IsBackground = true, Name = $"{Name} reader" };
        reader.Start();
    }

    private void Detach()
    {
        Stream input, output;
        lock (_gate)
        {
            input = _input;
            output = _output;
            _generation++;
            _ended = new ObjectDisposedException(Name);
            Monitor.PulseAll(_gate);
        }
        input.Dispose();
        output.Dispose();
    }

    private void Pump(Stream input, int generation)
    {
        var buffer = new byte[8192];
        Exception ended;
        try
        {
            while (true)
            {
                int n = input.Read(buffer, 0, buffer.Length);
                if (n == 0)
                {
                    ended = new EndOfStreamException("the other end closed the stream");
                    break;
                }
                lock (_gate)
                {
                    if (generation != _generation) return;
                    _chunks.Enqueue(buffer.AsSpan(0, n).ToArray());
                    Monitor.PulseAll(_gate);
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
        {
            ended = e;
        }
        lock (_gate)
        {
            if (generation != _generation) return;
            _ended = ended;
            Monitor.PulseAll(_gate);
        }
    }
}
