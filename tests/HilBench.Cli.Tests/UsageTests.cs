namespace HilBench.Cli.Tests;

/// <summary>Parsing: help, usage errors (exit code 2) and how expected failures are reported (exit code 1).</summary>
[TestFixture]
public sealed class UsageTests
{
    [Test]
    public void Help_ListsEveryCommand()
    {
        var run = Cli.Ok("--help");
        foreach (var command in new[] { "eval", "bench", "info", "random", "export" })
            Assert.That(run.Stdout, Does.Contain(command));
    }

    [TestCase("eval", "--help")]
    [TestCase("bench", "--help")]
    [TestCase("random", "--help")]
    public void CommandHelp_ExitsZero(string command, string help) =>
        Assert.That(Cli.Ok(command, help).Stdout, Does.Contain("Usage:").And.Contain("hilbench " + command));

    [TestCase("eval", "--model", "m.hbnn", "--no-such-option")]
    [TestCase("frobnicate")]
    [TestCase()]
    [TestCase("eval")]
    [TestCase("eval", "--model", "m.hbnn", "--kernel", "avx")]
    [TestCase("eval", "--model", "m.hbnn", "--threads", "-1")]
    [TestCase("eval", "--model", "m.hbnn", "--threads", "many")]
    [TestCase("bench", "--repeats", "0")]
    [TestCase("bench", "--images", "0")]
    [TestCase("random", "--arch", "mlp", "--out", "x.hbnn", "--input", "28by28")]
    [TestCase("random", "--arch", "mlp")]
    [TestCase("export", "--model", "m.hbnn")]
    public void UsageErrors_ExitTwo(params string[] args)
    {
        var run = Cli.Run(args);
        Assert.That(run.ExitCode, Is.EqualTo(2), run.ToString);
        Assert.That(run.Stderr, Does.Contain("--help"));
        Assert.That(run.Stdout, Is.Empty);
    }

    [Test]
    public void UnknownOption_NamesIt()
    {
        var run = Cli.Run("info", "--model", "m.hbnn", "--verbose");
        Assert.That(run.ExitCode, Is.EqualTo(2));
        Assert.That(run.Stderr, Does.Contain("--verbose"));
    }

    [Test]
    public void ExpectedExceptions_BecomeOneErrorLineAndExitOne()
    {
        var context = new CliContext(new StringWriter(), new StringWriter(), interactive: false);
        Exception[] expected =
        [
            new PlatformNotSupportedException("kernel path Vector512 needs AVX-512BW"),
            new FileNotFoundException("no such file"),
            new DirectoryNotFoundException("no such directory"),
            new IOException("disk full"),
            new UnauthorizedAccessException("read-only"),
            new FormatException("bad spec"),
            new Bnn.Model.InvalidModelException("layers do not fit"),
            new Bnn.Model.ModelFileException("bad model\nsecond line"),
            new Bnn.Data.DatasetException("bad data set"),
            new CliException("bad request"),
        ];
        foreach (var e in expected)
        {
            var stderr = new StringWriter();
            var ctx = new CliContext(new StringWriter(), stderr, interactive: false);
            Assert.That(CliErrors.Guard(ctx, () => throw e), Is.EqualTo(1), e.GetType().Name);
            Assert.That(stderr.ToString(), Is.EqualTo($"error: {e.Message.Replace("\n", " ")}{Environment.NewLine}"));
        }
        Assert.That(() => CliErrors.Guard(context, () => throw new InvalidOperationException("a bug")), Throws.InvalidOperationException,
            "unexpected exceptions are bugs and keep their stack trace");
    }
}
