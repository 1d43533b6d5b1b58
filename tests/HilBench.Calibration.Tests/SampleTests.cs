using HilBench.Calibration.Fit;
using HilBench.Calibration.Import;
using HilBench.Calibration.Report;
using HilBench.Calibration.Tests.Support;
using HilBench.Memory.Profiles;

namespace HilBench.Calibration.Tests;

/// <summary>The sample dumps shipped in calibration/samples: reproducible from the emulator, and they calibrate.</summary>
public class SampleTests
{
    [Test]
    [Explicit("rewrites calibration/samples")]
    public void WriteSamples() => Samples.Write(Samples.RepoDirectory());

    [Test]
    public void SamplesAreWhatTheEmulatorWrites()
    {
        using var dir = new TempDirectory();
        Samples.Write(dir.Path);
        string repo = Samples.RepoDirectory();
        foreach (string file in Samples.Files.Select(f => f.File).Append("manifest.json").Append("truth.json"))
            Assert.That(File.ReadAllBytes(Path.Combine(repo, file)), Is.EqualTo(File.ReadAllBytes(dir.File(file))), $"{file} is reproducible");
        long total = Directory.GetFiles(repo).Sum(f => new FileInfo(f).Length);
        TestContext.Out.WriteLine($"calibration/samples holds {total} bytes");
        Assert.That(total, Is.LessThan(1_000_000));
    }

    [Test]
    public void SamplesCalibrateFromTheManifest()
    {
        var maps = MeasuredInputs.FromManifest(Path.Combine(Samples.RepoDirectory(), "manifest.json"));
        var result = Calibrator.Fit(maps, new CalibrationOptions { Name = "sample", NominalVoltage = 1.0, HoldoutVoltages = [0.50] });
        var truth = DeviceProfile.Load(Path.Combine(Samples.RepoDirectory(), "truth.json"));
        foreach (var p in result.Parameters.Where(p => p.Fitted)) TestContext.Out.WriteLine($"{p.Name} = {p.Value:G4} +- {p.StandardError:G2} {p.Unit}");
        TestContext.Out.WriteLine($"held-out factor at 0.50 V: {result.HeldoutFactor:F3}; {result.Elapsed.TotalSeconds:F1} s");
        Assert.That(maps.Reads, Has.Count.EqualTo(7));
        Assert.That(result.Profile.Cells.Mean, Is.EqualTo(truth.Cells.Mean).Within(3).Percent);
        Assert.That(result.Profile.Cells.Sigma, Is.EqualTo(truth.Cells.Sigma).Within(15).Percent);
        Assert.That(result.Profile.Polarity.StuckAtZeroShare, Is.EqualTo(truth.Polarity.StuckAtZeroShare).Within(0.05));
        Assert.That(result.HeldoutFactor, Is.LessThan(1.5));
        using var dir = new TempDirectory();
        CalibrationReport.Write(result, dir.Path);
        result.SaveProfile(dir.File("profile.json"));
        Assert.That(DeviceProfile.Load(dir.File("profile.json")).Name, Is.EqualTo("sample"));
    }
}
