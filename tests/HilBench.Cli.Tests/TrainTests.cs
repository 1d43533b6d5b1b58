using HilBench.Bnn.Data;
using HilBench.Bnn.Model;

namespace HilBench.Cli.Tests;

/// <summary>hilbench train on a small slice of Fashion-MNIST (600 training, 200 test images).</summary>
[TestFixture]
public sealed class TrainTests
{
    private TempDirectory _dir = null!;
    private string _data = "";

    [OneTimeSetUp]
    public void CreateDataset()
    {
        _dir = new TempDirectory();
        _data = TinyDataset.Create(_dir.File("tiny"));
    }

    [OneTimeTearDown]
    public void RemoveDirectory() => _dir.Dispose();

    private string[] Args(string model, params string[] extra) =>
        ["train", "--arch", "dense64,dense10", "--dataset", _data, "--batch", "50", "--seed", "3", "--out", model, .. extra];

    [Test]
    public void Json_HasEpochSecondsAndTestAccuracy_AndWritesModelSummaryAndCheckpoint()
    {
        string model = _dir.File("a/m.hbnn");
        var json = Cli.Ok([.. Args(model, "--epochs", "2", "--bft", "0.01", "--json")]).Json();
        Assert.That(json.GetProperty("epoch_seconds").GetArrayLength(), Is.EqualTo(2));
        double accuracy = json.GetProperty("test_accuracy").GetDouble();
        Assert.That(accuracy, Is.InRange(0.3, 1.0), "two epochs on 600 images already beat chance clearly");
        Assert.That(json.GetProperty("command").GetString(), Does.Contain("--bft 0.01"));
        Assert.That(File.Exists(model + ".json") && File.Exists(model + ".ckpt"), Is.True);

        var loaded = ModelFile.Load(model);
        Assert.That(loaded.Metadata.Training["loss"], Is.EqualTo("ce"));
        Assert.That(loaded.Metadata.Training["bft_01"], Is.EqualTo("0.01"));
        var eval = Cli.Ok("eval", "--model", model, "--dataset", _data, "--json").Json();
        Assert.That(eval.GetProperty("accuracy").GetDouble(), Is.EqualTo(accuracy), "eval of the written model gives the reported accuracy");
    }

    [Test]
    public void ResumeContinuesBitIdentically()
    {
        string straight = _dir.File("s/m.hbnn"), split = _dir.File("r/m.hbnn");
        Cli.Ok([.. Args(straight, "--epochs", "2", "--loss", "mhl")]);
        Cli.Ok([.. Args(split, "--epochs", "1", "--loss", "mhl")]);
        var resumed = Cli.Ok("train", "--resume", split + ".ckpt", "--epochs", "2", "--json").Json();
        Assert.That(resumed.GetProperty("resumed_after_epoch").GetInt32(), Is.EqualTo(1));
        Assert.That(File.ReadAllBytes(split), Is.EqualTo(File.ReadAllBytes(straight)));
    }

    [Test]
    public void HorizontalFlips_AreKeptByResumeAndChangeTheModel()
    {
        string plain = _dir.File("hp/m.hbnn"), straight = _dir.File("hs/m.hbnn"), split = _dir.File("hr/m.hbnn");
        Cli.Ok([.. Args(plain, "--epochs", "2")]);
        var json = Cli.Ok([.. Args(straight, "--epochs", "2", "--hflip", "--json")]).Json();
        Assert.That(json.GetProperty("command").GetString(), Does.Contain("--hflip"));
        Assert.That(ModelFile.Load(straight).Metadata.Training["hflip"], Is.EqualTo("true"));
        Assert.That(ModelFile.Load(plain).Metadata.Training.ContainsKey("hflip"), Is.False, "runs without the option keep their old settings");
        Assert.That(File.ReadAllBytes(straight), Is.Not.EqualTo(File.ReadAllBytes(plain)));
        Cli.Ok([.. Args(split, "--epochs", "1", "--hflip")]);
        Cli.Ok("train", "--resume", split + ".ckpt", "--epochs", "2");
        Assert.That(File.ReadAllBytes(split), Is.EqualTo(File.ReadAllBytes(straight)));
    }

    [Test]
    public void TrainingAgainstAChip_IsRecordedAndResumed()
    {
        string profile = Path.Combine(Repository.Root, "calibration", "profiles", "ddr4-like.json");
        string straight = _dir.File("cs/m.hbnn"), split = _dir.File("cr/m.hbnn");
        var json = Cli.Ok([.. Args(straight, "--epochs", "2", "--profile", profile, "--op", "V=1.1,tRCD=9.5,T=55", "--chip", "4", "--json")]).Json();
        Assert.That(json.GetProperty("command").GetString(), Does.Contain("--op \"V=1.1,tRCD=9.5,T=55\" --chip 4"));
        var training = ModelFile.Load(straight).Metadata.Training;
        Assert.That(training["op"], Is.EqualTo("V=1.1,tRCD=9.5,T=55"));
        Assert.That(training["chip"], Is.EqualTo("4"));
        Cli.Ok([.. Args(split, "--epochs", "1", "--profile", profile, "--op", "V=1.1,tRCD=9.5,T=55", "--chip", "4")]);
        Cli.Ok("train", "--resume", split + ".ckpt", "--epochs", "2");
        Assert.That(File.ReadAllBytes(split), Is.EqualTo(File.ReadAllBytes(straight)));
    }

    [TestCase("--bft", "0.1", "not both")]
    [TestCase("--chip", "2", "go together")]
    public void TrainingAgainstAChip_UsageErrors(string option, string value, string message)
    {
        string profile = Path.Combine(Repository.Root, "calibration", "profiles", "ddr4-like.json");
        var run = Cli.Run([.. Args(_dir.File("cx/m.hbnn"), "--epochs", "1", "--profile", profile, option, value)]);
        Assert.That(run.ExitCode, Is.EqualTo(2), run.ToString);
        Assert.That(run.Stderr, Does.Contain(message));
    }

    [Test]
    public void TrainingAgainstAChip_OutOfRangePointIsAClearError()
    {
        string profile = Path.Combine(Repository.Root, "calibration", "profiles", "ddr4-like.json");
        var run = Cli.Run([.. Args(_dir.File("co/m.hbnn"), "--epochs", "1", "--profile", profile, "--op", "V=0.9")]);
        Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString);
        Assert.That(run.Stderr, Does.Contain("range.voltage"));
    }


    [Test]
    public void ResumingWithChangedSettingsIsAUsageError()
    {
        var run = Cli.Run("train", "--resume", "x.ckpt", "--lr", "0.1");
        Assert.That(run.ExitCode, Is.EqualTo(2));
        Assert.That(run.Stderr, Does.Contain("cannot be changed when resuming"));
    }

    [TestCase("--arch")]
    [TestCase("--out")]
    [TestCase("--epochs")]
    public void RequiredOptionsWithoutResume(string missing)
    {
        var args = new List<string> { "train", "--arch", "mlp", "--out", "m.hbnn", "--epochs", "1" };
        int i = args.IndexOf(missing);
        args.RemoveRange(i, 2);
        var run = Cli.Run([.. args]);
        Assert.That(run.ExitCode, Is.EqualTo(2));
        Assert.That(run.Stderr, Does.Contain($"{missing} is required"));
    }

    [Test]
    public void ArchitectureThatDoesNotFitTheClassesIsAClearError()
    {
        var run = Cli.Run("train", "--arch", "dense16,dense7", "--dataset", _data, "--epochs", "1", "--out", _dir.File("v.hbnn"));
        Assert.That(run.ExitCode, Is.EqualTo(1));
        Assert.That(run.Stderr, Does.Contain("end it with dense10"));
    }

    [Test]
    public void MissingCheckpointIsAClearError()
    {
        var run = Cli.Run("train", "--resume", _dir.File("nope.ckpt"));
        Assert.That(run.ExitCode, Is.EqualTo(1));
        Assert.That(run.Stderr, Does.Contain("nope.ckpt"));
    }
}
