namespace HilBench.Cli.Tests;

/// <summary>hilbench eval under weight bit errors (--ber, --ber-01/--ber-10, --trials, --seed).</summary>
[TestFixture]
public sealed class EvalErrorTests
{
    private TempDirectory _dir = null!;
    private string _model = "";

    [OneTimeSetUp]
    public void CreateModel()
    {
        _dir = new TempDirectory();
        _model = _dir.File("small.hbnn");
        Cli.Ok("random", "--arch", "dense256,dense10", "--seed", "3", "--out", _model);
    }

    [OneTimeTearDown]
    public void RemoveDirectory() => _dir.Dispose();

    [Test]
    public void Json_ReportsMeanIntervalAndEveryTrial()
    {
        var json = Cli.Ok("eval", "--model", _model, "--ber", "0.05", "--trials", "4", "--seed", "1", "--json").Json();
        var trials = json.GetProperty("accuracy_trials").EnumerateArray().Select(t => t.GetDouble()).ToArray();
        Assert.That(trials, Has.Length.EqualTo(4));
        double mean = json.GetProperty("accuracy_mean").GetDouble();
        Assert.That(mean, Is.EqualTo(trials.Average()).Within(1e-12));
        var ci = json.GetProperty("accuracy_ci95").EnumerateArray().Select(t => t.GetDouble()).ToArray();
        Assert.That(ci, Has.Length.EqualTo(2));
        Assert.That(ci[0], Is.LessThanOrEqualTo(mean));
        Assert.That(ci[1], Is.GreaterThanOrEqualTo(mean));
        // 256*784 + 10*256 weight bits at 5%: about 10,164 flips per pattern.
        Assert.That(json.GetProperty("flipped_bits_mean").GetDouble(), Is.InRange(9000.0, 11500.0));
        Assert.That(json.GetProperty("errors").GetString(), Does.Contain("0.05"));
    }

    [Test]
    public void SameSeedGivesTheSameResultOtherSeedAnother()
    {
        string Mean(string seed) => Cli.Ok("eval", "--model", _model, "--ber", "0.1", "--trials", "2", "--seed", seed, "--json")
            .Json().GetProperty("accuracy_trials").ToString();
        Assert.That(Mean("7"), Is.EqualTo(Mean("7")));
        Assert.That(Mean("7"), Is.Not.EqualTo(Mean("8")));
    }

    [Test]
    public void RateZeroEqualsTheCleanAccuracy()
    {
        var json = Cli.Ok("eval", "--model", _model, "--ber", "0", "--trials", "2", "--json").Json();
        Assert.That(json.GetProperty("accuracy_mean").GetDouble(), Is.EqualTo(json.GetProperty("accuracy").GetDouble()));
        Assert.That(json.GetProperty("flipped_bits_mean").GetDouble(), Is.Zero);
    }

    [Test]
    public void AsymmetricRatesAreReportedAndOneTrialHasNoInterval()
    {
        var json = Cli.Ok("eval", "--model", _model, "--ber-01", "0.02", "--ber-10", "0", "--trials", "1", "--json").Json();
        Assert.That(json.GetProperty("errors").GetString(), Does.Contain("0->1 0.02"));
        Assert.That(json.GetProperty("accuracy_ci95").ValueKind, Is.EqualTo(System.Text.Json.JsonValueKind.Null));
    }

    [Test]
    public void TextOutputHasAnErrorsLine() =>
        Assert.That(Cli.Ok("eval", "--model", _model, "--ber", "0.01", "--trials", "2").Stdout, Does.Contain("mean over 2 patterns (seed 1), 95% interval"));

    [TestCase("--ber", "1.5")]
    [TestCase("--ber", "-0.1")]
    [TestCase("--ber", "abc")]
    [TestCase("--ber-01", "0.1")]
    [TestCase("--trials", "0")]
    public void BadErrorOptionsAreUsageErrors(string option, string value)
    {
        var run = Cli.Run("eval", "--model", _model, option, value);
        Assert.That(run.ExitCode, Is.EqualTo(2), run.ToString);
    }

    [Test]
    public void SymmetricAndAsymmetricTogetherAreRefused()
    {
        var run = Cli.Run("eval", "--model", _model, "--ber", "0.1", "--ber-01", "0.1", "--ber-10", "0.1");
        Assert.That(run.ExitCode, Is.EqualTo(2));
        Assert.That(run.Stderr, Does.Contain("either --ber or --ber-01/--ber-10"));
    }
}
