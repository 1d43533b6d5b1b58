using System.Diagnostics;
using HilBench.Bnn.Training;

namespace HilBench.Cli.Tests;

/// <summary>
/// Ctrl-C for real: the hilbench executable in a child process gets SIGINT during training, must exit with 130
/// after the current batch, and leave a checkpoint that resumes to exactly the model of an uninterrupted run.
/// </summary>
[TestFixture]
[Platform(Include = "Linux,MacOsX", Reason = "sends SIGINT with kill(1)")]
public sealed class InterruptTests
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

    [Test]
    public void SigintKeepsTheLastCompleteCheckpointAndResumeIsBitIdentical()
    {
        // A fixed --lr-steps: the default schedule depends on the total number of epochs, which differs between the two runs.
        string model = _dir.File("int/m.hbnn"), checkpoint = model + ".ckpt";
        string exe = Path.Combine(TestContext.CurrentContext.TestDirectory, "hilbench.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { exe, "train", "--arch", "dense64,dense10", "--dataset", _data, "--batch", "50", "--seed", "3", "--epochs", "100000", "--lr-steps", "1000", "--out", model })
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        var wait = Stopwatch.StartNew();
        while (!File.Exists(checkpoint) && !process.HasExited && wait.Elapsed < TimeSpan.FromMinutes(2)) Thread.Sleep(50);
        Assert.That(File.Exists(checkpoint), Is.True, "the first epoch wrote a checkpoint");
        Thread.Sleep(300); // let it get into a later epoch
        using (var kill = Process.Start("kill", ["-INT", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) kill.WaitForExit();
        Assert.That(process.WaitForExit(60_000), Is.True, "SIGINT stops the run");
        Assert.That(process.ExitCode, Is.EqualTo(130), stderr.Result);
        Assert.That(stderr.Result, Does.Contain("interrupted: the last complete epoch is in").And.Contain("--resume"));
        Assert.That(stdout.Result, Does.Contain("epoch 1/100000"));

        int done = TrainingCheckpoint.ReadHeader(checkpoint).EpochsDone;
        Assert.That(done, Is.GreaterThanOrEqualTo(1));
        string target = (done + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
        Cli.Ok("train", "--resume", checkpoint, "--epochs", target);
        string straight = _dir.File("straight/m.hbnn");
        Cli.Ok("train", "--arch", "dense64,dense10", "--dataset", _data, "--batch", "50", "--seed", "3", "--epochs", target, "--lr-steps", "1000", "--out", straight);
        Assert.That(File.ReadAllBytes(model), Is.EqualTo(File.ReadAllBytes(straight)), $"interrupted after {done} epochs, resumed to {target}");
    }
}
