using Spectre.Console;

namespace HilBench.Cli;

/// <summary>
/// Where a command writes: plain text and JSON go to <see cref="Out"/>, tables through <see cref="Console"/>
/// (a Spectre console over the same writer), errors to <see cref="Error"/>. Only an interactive terminal
/// gets colours and progress animation, so redirected output and tests see plain text.
/// </summary>
public sealed class CliContext
{
    /// <summary>Width used for tables when the output is not a terminal (a file, a pipe, a test).</summary>
    private const int RedirectedWidth = 120;

    public CliContext(TextWriter stdout, TextWriter stderr, bool interactive)
    {
        Out = stdout;
        Error = stderr;
        Interactive = interactive;
        Console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(stdout),
            Ansi = interactive ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = interactive ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = interactive ? InteractionSupport.Yes : InteractionSupport.No,
        });
        if (!interactive) Console.Profile.Width = RedirectedWidth;
    }

    public TextWriter Out { get; }

    public TextWriter Error { get; }

    /// <summary>True when standard output is a terminal a person is watching.</summary>
    public bool Interactive { get; }

    public IAnsiConsole Console { get; }

    /// <summary>
    /// Runs <paramref name="work"/> under a status spinner on an interactive terminal, or plainly otherwise
    /// (and always plainly when the command prints JSON, which must stay machine-readable).
    /// </summary>
    public T WithStatus<T>(bool json, string status, Func<Action<string>, T> work)
    {
        if (!Interactive || json) return work(_ => { });
        return Console.Status().Start(Markup.Escape(status), ctx => work(s => ctx.Status(Markup.Escape(s))));
    }
}
