using System.Text.Json;

namespace HilBench.Cli.Tests;

/// <summary>What one in-process run of hilbench printed and returned.</summary>
public sealed record CliRun(int ExitCode, string Stdout, string Stderr)
{
    public JsonElement Json() => JsonDocument.Parse(Stdout).RootElement;

    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
}

/// <summary>Runs the hilbench command line in-process with captured output, as the executable would run it with redirected output.</summary>
public static class Cli
{
    public static CliRun Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CliApp.Run(args, stdout, stderr);
        return new CliRun(code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Runs and asserts success, so a failing command shows its output in the test report.</summary>
    public static CliRun Ok(params string[] args)
    {
        var run = Run(args);
        Assert.That(run.ExitCode, Is.Zero, run.ToString);
        return run;
    }
}

/// <summary>A fresh directory per fixture, removed afterwards.</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory() =>
        Path = Directory.CreateDirectory(System.IO.Path.Combine(System.IO.Path.GetTempPath(), "hilbench-cli-tests", System.IO.Path.GetRandomFileName())).FullName;

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
    }
}

/// <summary>The checkout the tests run in: the folder above the test binaries that holds HilBench.sln.</summary>
public static class Repository
{
    public static string Root { get; } = Find();

    public static string File(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string Find()
    {
        for (var d = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); d is not null; d = d.Parent)
            if (System.IO.File.Exists(Path.Combine(d.FullName, "HilBench.sln"))) return d.FullName;
        throw new DirectoryNotFoundException("no HilBench.sln above the test directory");
    }
}

/// <summary>A small slice of Fashion-MNIST (600 training, 200 test images) as an IDX directory, for quick training runs.</summary>
public static class TinyDataset
{
    public static string Create(string directory)
    {
        string dir = Directory.CreateDirectory(directory).FullName;
        var full = HilBench.Bnn.Data.IdxDataset.Load(HilBench.Bnn.Data.IdxDataset.DefaultDirectory());
        void Write(string prefix, HilBench.Bnn.Data.ImageSet set)
        {
            HilBench.Bnn.Data.IdxFile.Write(Path.Combine(dir, $"{prefix}-images-idx3-ubyte"), [set.Count, 28, 28], set.Pixels, gzip: false);
            HilBench.Bnn.Data.IdxFile.Write(Path.Combine(dir, $"{prefix}-labels-idx1-ubyte"), [set.Count], set.Labels, gzip: false);
        }
        Write("train", full.Train.Take(600));
        Write("t10k", full.Test.Take(200));
        return dir;
    }
}
