using System.Globalization;
using HilBench.Bnn.Kernels;

namespace HilBench.Cli.Tests;

/// <summary>hilbench eval on the vendored Fashion-MNIST test split (10,000 images) with random models.</summary>
[TestFixture]
public sealed class EvalTests
{
    private const int TestImages = 10_000;
    private TempDirectory _dir = null!;
    private string _mlp = "";
    private string _small = "";

    [OneTimeSetUp]
    public void CreateModels()
    {
        _dir = new TempDirectory();
        _mlp = _dir.File("mlp.hbnn");
        _small = _dir.File("small.hbnn");
        Cli.Ok("random", "--arch", "mlp", "--seed", "11", "--out", _mlp);
        Cli.Ok("random", "--arch", "dense128,dense10", "--seed", "5", "--out", _small);
    }

    [OneTimeTearDown]
    public void RemoveDirectory() => _dir.Dispose();

    [Test]
    public void Json_AccuracyMatchesThePredictionsCsv()
    {
        string csv = Path.Combine(_dir.Path, "preds", "mlp.csv");
        var json = Cli.Ok("eval", "--model", _mlp, "--json", "--predictions", csv).Json();

        foreach (var key in new[] { "accuracy", "per_class_accuracy", "images_per_s", "count", "model", "dataset", "kernel", "threads" })
            Assert.That(json.TryGetProperty(key, out _), Is.True, $"missing key {key}");
        double accuracy = json.GetProperty("accuracy").GetDouble();
        Assert.That(accuracy, Is.InRange(0.0, 1.0));
        Assert.That(json.GetProperty("count").GetInt32(), Is.EqualTo(TestImages));
        Assert.That(json.GetProperty("images_per_s").GetDouble(), Is.GreaterThan(0));
        Assert.That(json.GetProperty("threads").GetInt32(), Is.EqualTo(Environment.ProcessorCount));
        Assert.That(json.GetProperty("model").GetString(), Is.EqualTo(Path.GetFullPath(_mlp)));
        Assert.That(Directory.Exists(json.GetProperty("dataset").GetString()), Is.True);
        Assert.That(json.GetProperty("kernel").GetString(), Is.EqualTo(KernelPaths.Supported()[^1].ToString().ToLowerInvariant()));
        Assert.That(json.GetProperty("predictions").GetString(), Is.EqualTo(Path.GetFullPath(csv)));

        var lines = File.ReadAllLines(csv);
        Assert.That(lines, Has.Length.EqualTo(TestImages + 1));
        Assert.That(lines[0], Is.EqualTo("index,label,predicted," + string.Join(",", Enumerable.Range(0, 10).Select(k => $"logit{k}"))));

        int correct = 0;
        var classImages = new int[10];
        var classCorrect = new int[10];
        for (int i = 1; i < lines.Length; i++)
        {
            var fields = lines[i].Split(',').Select(f => int.Parse(f, CultureInfo.InvariantCulture)).ToArray();
            Assert.That(fields, Has.Length.EqualTo(13), $"row {i}");
            Assert.That(fields[0], Is.EqualTo(i - 1));
            int label = fields[1], predicted = fields[2];
            var logits = fields[3..];
            int argmax = Array.IndexOf(logits, logits.Max()); // first maximum: ties go to the lowest class
            Assert.That(predicted, Is.EqualTo(argmax), $"row {i}: {lines[i]}");
            classImages[label]++;
            if (label == predicted) { correct++; classCorrect[label]++; }
        }
        Assert.That(accuracy, Is.EqualTo((double)correct / TestImages));
        Assert.That(json.GetProperty("correct").GetInt32(), Is.EqualTo(correct));

        var perClass = json.GetProperty("per_class_accuracy").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        Assert.That(perClass, Has.Length.EqualTo(10));
        for (int c = 0; c < 10; c++)
        {
            Assert.That(perClass[c], Is.InRange(0.0, 1.0));
            Assert.That(perClass[c], Is.EqualTo((double)classCorrect[c] / classImages[c]).Within(1e-12), $"class {c}");
        }
    }

    [Test]
    public void Text_PrintsAccuracyAndAPerClassTableWithoutAnsiCodes()
    {
        var run = Cli.Ok("eval", "--model", _small, "--threads", "1");
        Assert.That(run.Stdout, Does.Contain("accuracy").And.Contain("images/s").And.Contain("1 thread"));
        Assert.That(run.Stdout, Does.Contain("Ankle boot"), "Fashion-MNIST class names in the per-class table");
        Assert.That(run.Stdout, Does.Not.Contain("\u001b"), "no ANSI escape codes in redirected output");
        Assert.That(run.Stderr, Is.Empty);
    }

    [Test]
    public void EveryKernelPathGivesTheSameAccuracy()
    {
        var results = KernelPaths.Supported()
            .Select(p => Cli.Ok("eval", "--model", _small, "--json", "--kernel", p.ToString().ToLowerInvariant()).Json())
            .ToList();
        Assert.That(results.Select(r => r.GetProperty("correct").GetInt32()).Distinct().Count(), Is.EqualTo(1));
        Assert.That(results.Select(r => r.GetProperty("kernel").GetString()),
            Is.EqualTo(KernelPaths.Supported().Select(p => p.ToString().ToLowerInvariant())));
    }

    [Test]
    public void ExplicitDatasetDirectoryWorks()
    {
        string dir = Cli.Ok("eval", "--model", _small, "--json").Json().GetProperty("dataset").GetString()!;
        var json = Cli.Ok("eval", "--model", _small, "--json", "--dataset", dir).Json();
        Assert.That(json.GetProperty("dataset").GetString(), Is.EqualTo(dir));
    }

    [Test]
    public void MissingModelFile()
    {
        var run = Cli.Run("eval", "--model", _dir.File("nope.hbnn"));
        Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString);
        Assert.That(run.Stderr, Does.StartWith("error: ").And.Contain("nope.hbnn").And.Contain("does not exist"));
        AssertOneLineNoStackTrace(run);
    }

    [Test]
    public void CorruptModelFile()
    {
        string corrupt = _dir.File("corrupt.hbnn");
        var bytes = File.ReadAllBytes(_small);
        bytes[bytes.Length / 2] ^= 0x10;
        File.WriteAllBytes(corrupt, bytes);
        var run = Cli.Run("eval", "--model", corrupt);
        Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString);
        Assert.That(run.Stderr, Does.StartWith("error: ").And.Contain("corrupt.hbnn").And.Contain("corrupt"));
        AssertOneLineNoStackTrace(run);
    }

    [Test]
    public void TruncatedModelFile()
    {
        string truncated = _dir.File("truncated.hbnn");
        File.WriteAllBytes(truncated, File.ReadAllBytes(_small)[..100]);
        var run = Cli.Run("eval", "--model", truncated);
        Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString);
        Assert.That(run.Stderr, Does.StartWith("error: ").And.Contain("truncated"));
        AssertOneLineNoStackTrace(run);
    }

    [Test]
    public void MissingDatasetDirectory()
    {
        string missing = Path.Combine(_dir.Path, "no-such-dataset");
        var run = Cli.Run("eval", "--model", _small, "--dataset", missing);
        Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString);
        Assert.That(run.Stderr, Does.StartWith("error: ").And.Contain(missing).And.Contain("does not exist"));
        AssertOneLineNoStackTrace(run);
    }

    [Test]
    public void DatasetDirectoryWithoutTestFiles()
    {
        string empty = Path.Combine(_dir.Path, "empty-dataset");
        Directory.CreateDirectory(empty);
        var run = Cli.Run("eval", "--model", _small, "--dataset", empty);
        Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString);
        Assert.That(run.Stderr, Does.StartWith("error: ").And.Contain("t10k"));
        AssertOneLineNoStackTrace(run);
    }

    [Test]
    public void ShapeMismatchNamesBothShapes()
    {
        string tiny = _dir.File("tiny-input.hbnn");
        Cli.Ok("random", "--arch", "dense32,dense10", "--input", "8x8x1", "--out", tiny);
        var run = Cli.Run("eval", "--model", tiny);
        Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString);
        Assert.That(run.Stderr, Does.StartWith("error: ").And.Contain("8x8x1").And.Contain("28x28x1"));
        AssertOneLineNoStackTrace(run);
    }

    [Test]
    public void PredictionsPathThatIsADirectory()
    {
        var run = Cli.Run("eval", "--model", _small, "--predictions", _dir.Path);
        Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString);
        Assert.That(run.Stderr, Does.StartWith("error: ").And.Contain("is a directory"));
    }

    private static void AssertOneLineNoStackTrace(CliRun run)
    {
        Assert.That(run.Stderr.TrimEnd('\n', '\r'), Does.Not.Contain('\n'), "one line on stderr");
        Assert.That(run.Stderr, Does.Not.Contain("   at "), "no stack trace");
        Assert.That(run.Stdout, Is.Empty);
    }
}
