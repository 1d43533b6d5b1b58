namespace HilBench.Cli;

/// <summary>The <c>hilbench</c> executable: everything happens in <see cref="CliApp"/>, which tests call in-process.</summary>
public static class Program
{
    public static int Main(string[] args) =>
        CliApp.Run(args, Console.Out, Console.Error, interactive: !Console.IsOutputRedirected);
}
