namespace HilBench.Cli;

/// <summary>
/// Ctrl-C (SIGINT) as a cancellation token while a long command runs: the process is not killed, the command stops at its
/// next check, keeps what it finished and says so. Dispose to restore the default handling.
/// </summary>
public sealed class CtrlC : IDisposable
{
    private readonly CancellationTokenSource _source = new();
    private readonly ConsoleCancelEventHandler _handler;

    public CtrlC()
    {
        _handler = (_, e) =>
        {
            e.Cancel = true;
            _source.Cancel();
        };
        Console.CancelKeyPress += _handler;
    }

    public CancellationToken Token => _source.Token;

    public void Dispose()
    {
        Console.CancelKeyPress -= _handler;
        _source.Dispose();
    }
}
