using HilBench.Bnn.Model;

namespace HilBench.Cli.Tests;

/// <summary>random, info and export: writing, describing and exporting model files.</summary>
[TestFixture]
public sealed class ModelCommandTests
{
    private TempDirectory _dir = null!;

    [OneTimeSetUp]
    public void CreateDirectory() => _dir = new TempDirectory();

    [OneTimeTearDown]
    public void RemoveDirectory() => _dir.Dispose();

    [Test]
    public void RandomThenInfo_RoundTripsArchitectureWeightBitsAndMetadata()
    {
        string model = _dir.File("mlp.hbnn");
        var random = Cli.Ok("random", "--arch", "mlp", "--seed", "7", "--out", model);
        Assert.That(random.Stdout, Does.Contain("784-2048-2048-10"));

        var text = Cli.Ok("info", "--model", model);
        Assert.That(text.Stdout, Does.Contain("input(28x28x1) dense(2048) threshold dense(2048) threshold dense(10)"));
        Assert.That(text.Stdout, Does.Contain("5,820,416"));
        Assert.That(text.Stdout, Does.Contain("seed = 7"));

        var info = Cli.Ok("info", "--model", model, "--json").Json();
        Assert.That(info.GetProperty("weight_bits").GetInt64(), Is.EqualTo(784L * 2048 + 2048L * 2048 + 2048L * 10));
        Assert.That(info.GetProperty("input").GetString(), Is.EqualTo("28x28x1"));
        Assert.That(info.GetProperty("classes").GetInt32(), Is.EqualTo(10));
        Assert.That(info.GetProperty("logit_scale").GetDouble(), Is.EqualTo(1.0));
        Assert.That(info.GetProperty("layers").GetArrayLength(), Is.EqualTo(5));
        var first = info.GetProperty("layers")[0];
        Assert.That(first.GetProperty("kind").GetString(), Is.EqualTo("dense"));
        Assert.That(first.GetProperty("rows").GetInt32(), Is.EqualTo(2048));
        Assert.That(first.GetProperty("columns").GetInt32(), Is.EqualTo(784));
        var extra = info.GetProperty("metadata").GetProperty("extra");
        Assert.That(extra.GetProperty("architecture").GetString(), Is.EqualTo(ModelBuilder.MlpSpec));
        Assert.That(extra.GetProperty("seed").GetString(), Is.EqualTo("7"));
    }

    [Test]
    public void Random_SameSeedGivesTheSameFile_OtherSeedAnother()
    {
        string a = _dir.File("a.hbnn"), b = _dir.File("b.hbnn"), c = _dir.File("c.hbnn");
        Cli.Ok("random", "--arch", "conv8,pool,dense32,dense10", "--seed", "3", "--out", a);
        Cli.Ok("random", "--arch", "conv8,pool,dense32,dense10", "--seed", "3", "--out", b);
        Cli.Ok("random", "--arch", "conv8,pool,dense32,dense10", "--seed", "4", "--out", c);
        Assert.That(File.ReadAllBytes(b), Is.EqualTo(File.ReadAllBytes(a)));
        Assert.That(File.ReadAllBytes(c), Is.Not.EqualTo(File.ReadAllBytes(a)));
    }

    [Test]
    public void Random_InputShapeAndNestedOutputDirectory()
    {
        string model = Path.Combine(_dir.Path, "nested", "deeper", "small.hbnn");
        Cli.Ok("random", "--arch", "c4,p,d10", "--input", "8x6x3", "--out", model);
        var info = Cli.Ok("info", "--model", model, "--json").Json();
        Assert.That(info.GetProperty("input").GetString(), Is.EqualTo("8x6x3"));
        Assert.That(info.GetProperty("short_architecture").GetString(), Is.EqualTo("8x6x3-c4-p-10"));
    }

    [Test]
    public void Random_BadSpecIsAnErrorNotACrash()
    {
        var run = Cli.Run("random", "--arch", "conv64,pool,pool,dense10", "--out", _dir.File("bad.hbnn"));
        Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString);
        Assert.That(run.Stderr, Does.StartWith("error: ").And.Contain("pool"));
        Assert.That(File.Exists(_dir.File("bad.hbnn")), Is.False);

        var tooDeep = Cli.Run("random", "--arch", "c8,p,c8,p,c8,p,c8,p,c8,p,d10", "--out", _dir.File("deep.hbnn"));
        Assert.That(tooDeep.ExitCode, Is.EqualTo(1), tooDeep.ToString);
        Assert.That(tooDeep.Stderr, Does.StartWith("error: ").And.Contain("28x28x1"));
    }

    [Test]
    public void Export_WritesAZipArchiveAndListsItsArrays()
    {
        string model = _dir.File("export.hbnn");
        string npz = Path.Combine(_dir.Path, "out", "export.npz");
        Cli.Ok("random", "--arch", "dense64,dense10", "--out", model);
        var run = Cli.Ok("export", "--model", model, "--npz", npz);
        var bytes = File.ReadAllBytes(npz);
        Assert.That(bytes.Length, Is.GreaterThan(4));
        Assert.That(bytes[0..2], Is.EqualTo("PK"u8.ToArray()));
        Assert.That(run.Stdout, Does.Contain("export.npz").And.Contain("layer0.weight"));
    }

    [Test]
    public void Info_OnAMissingFileIsExitCodeOne()
    {
        var run = Cli.Run("info", "--model", _dir.File("missing.hbnn"));
        Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString);
        Assert.That(run.Stderr, Does.StartWith("error: ").And.Contain("missing.hbnn").And.Contain("does not exist"));
        Assert.That(run.Stdout, Is.Empty);
    }
}
