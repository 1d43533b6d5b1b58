using System.CommandLine;
using System.CommandLine.Invocation;
using HilBench.Cli.Commands;

namespace HilBench.Cli;

/// <summary>
/// The <c>hilbench</c> command line. <see cref="Run(string[], TextWriter, TextWriter)"/> is the whole program with
/// its output redirected, so tests run commands in-process exactly as a user would.
/// Exit codes: 0 success, 1 an expected failure (printed as <c>error: message</c>), 2 a usage error.
/// </summary>
public static class CliApp
{
    /// <summary>Runs hilbench with non-interactive output (no colours, no progress animation).</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr) => Run(args, stdout, stderr, interactive: false);

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, bool interactive)
    {
        var context = new CliContext(stdout, stderr, interactive);
        var root = BuildRoot(context);
        var parsed = root.Parse(args);
        if (parsed.Action is ParseErrorAction)
        {
            foreach (var error in parsed.Errors) stderr.WriteLine(error.Message);
            stderr.WriteLine($"Run '{CommandPath(parsed)} --help' for usage.");
            return CliErrors.Usage;
        }
        return parsed.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr });
    }

    public static RootCommand BuildRoot(CliContext context)
    {
        var root = new RootCommand("HilBench: binarized neural networks on approximate memory, emulated or hardware-in-the-loop.")
        {
            HelpName = "hilbench",
        };
        root.Subcommands.Add(TrainCommand.Create(context));
        root.Subcommands.Add(EvalCommand.Create(context));
        root.Subcommands.Add(InjectCommand.Create(context));
        root.Subcommands.Add(SweepCommand.Create(context));
        root.Subcommands.Add(ProfileCommand.Create(context));
        root.Subcommands.Add(BoardCommand.Create(context));
        root.Subcommands.Add(CalibrateCommand.Create(context));
        root.Subcommands.Add(MetricsCommand.Create(context));
        root.Subcommands.Add(ExperimentCommand.Create(context));
        root.Subcommands.Add(BenchCommand.Create(context));
        root.Subcommands.Add(InfoCommand.Create(context));
        root.Subcommands.Add(RandomCommand.Create(context));
        root.Subcommands.Add(ExportCommand.Create(context));
        return root;
    }

    private static string CommandPath(ParseResult parsed)
    {
        var names = new List<string>();
        for (var r = parsed.CommandResult; r is not null; r = r.Parent as System.CommandLine.Parsing.CommandResult)
            names.Add(r.Command is RootCommand ? "hilbench" : r.Command.Name);
        names.Reverse();
        return string.Join(" ", names);
    }
}
