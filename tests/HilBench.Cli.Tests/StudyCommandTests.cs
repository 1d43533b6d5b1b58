using System.Text.Json;
using HilBench.Cli.Commands;

namespace HilBench.Cli.Tests;

/// <summary>hilbench metrics and hilbench experiment on the shipped MLPs, with few images so the tests stay quick.</summary>
[TestFixture]
public sealed class StudyCommandTests
{
    private TempDirectory _dir = null!;
    private static string Models => string.Join(",", new[] { "bft0", "bft10", "bft20" }.Select(m => Repository.File("models", $"fmnist-mlp-{m}.hbnn")));

    [OneTimeSetUp]
    public void Create() => _dir = new TempDirectory();

    [OneTimeTearDown]
    public void Remove() => _dir.Dispose();

    [Test]
    public void Metrics_Json_HasOneEntryPerHiddenLayer()
    {
        var json = Cli.Ok("metrics", "--model", Repository.File("models", "fmnist-mlp-bft0.hbnn"), "--images", "500", "--importance-images", "200", "--json").Json();
        var layers = json.GetProperty("layers").EnumerateArray().ToArray();
        Assert.That(layers.Select(l => l.GetProperty("block").GetInt32()), Is.EqualTo(new[] { 0, 1 }));
        Assert.That(layers[1].GetProperty("fan_in").GetInt32(), Is.EqualTo(2048));
        double nl = layers[1].GetProperty("nl_mean").GetDouble();
        Assert.That(nl, Is.InRange(0.0, 1.0), "d/n of a layer with +-1 inputs is at most 1");
        Assert.That(layers[1].GetProperty("nl_q05").GetDouble(), Is.LessThanOrEqualTo(layers[1].GetProperty("nl_median").GetDouble()));
        double inVariance = layers[1].GetProperty("in_variance").GetDouble();
        Assert.That(inVariance, Is.GreaterThan(0));
        Assert.That(layers[1].GetProperty("in_variance_corrected").GetDouble(), Is.LessThan(inVariance), "on 200 images part of the variance is noise");
        Assert.That(layers[1].GetProperty("histogram_counts").EnumerateArray().Sum(c => c.GetInt64()), Is.EqualTo(500L * 2048));
        Assert.That(layers.Select(l => l.GetProperty("flip_method").GetString()), Is.All.EqualTo("exact"));
        Assert.That(layers[0].GetProperty("unreachable_samples").GetInt64(), Is.InRange(1L, 500L * 2048 - 1), "some pixel-layer neurons no flips can change");
    }

    [Test]
    public void Metrics_MarksThePooledConvApproximation()
    {
        string model = _dir.File("conv.hbnn");
        Cli.Ok("random", "--arch", "c8,p,d10", "--seed", "2", "--out", model);
        var json = Cli.Ok("metrics", "--model", model, "--images", "20", "--importance-images", "10", "--json").Json();
        Assert.That(json.GetProperty("layers")[0].GetProperty("flip_method").GetString(), Is.EqualTo("pooled_conv_approximation"));
        var text = Cli.Ok("metrics", "--model", model, "--images", "20", "--importance-images", "10");
        Assert.That(text.Stdout, Does.Contain("~").And.Contain("an approximation").And.Contain("left out: block 0 "), text.ToString);
    }

    [Test]
    public void Metrics_ImportancesOnTrainingImages()
    {
        string data = TinyDataset.Create(_dir.File("split-data"));
        string model = Repository.File("models", "fmnist-mlp-bft0.hbnn");
        string[] Args(string split) => ["metrics", "--model", model, "--dataset", data, "--images", "100", "--importance-images", "300", "--importance-split", split, "--json"];
        var onTrain = Cli.Ok(Args("train")).Json();
        var onTest = Cli.Ok(Args("test")).Json();
        Assert.That(onTrain.GetProperty("importance_split").GetString(), Is.EqualTo("train"));
        Assert.That(onTrain.GetProperty("importance_images").GetInt32(), Is.EqualTo(300), "training images are not capped by --images");
        Assert.That(onTest.GetProperty("importance_images").GetInt32(), Is.EqualTo(100), "test images are at most --images");
        double Variance(JsonElement json) => json.GetProperty("layers")[1].GetProperty("in_variance").GetDouble();
        Assert.That(Variance(onTrain), Is.Not.EqualTo(Variance(onTest)));
        Assert.That(onTrain.GetProperty("layers")[1].GetProperty("nl_mean").GetDouble(), Is.EqualTo(onTest.GetProperty("layers")[1].GetProperty("nl_mean").GetDouble()),
            "the margins stay on the test images");

        string testOnly = _dir.File("split-test-only");
        Directory.CreateDirectory(testOnly);
        foreach (string f in Directory.GetFiles(data, "t10k-*")) File.Copy(f, Path.Combine(testOnly, Path.GetFileName(f)), overwrite: true);
        var missing = Cli.Run("metrics", "--model", model, "--dataset", testOnly, "--importance-split", "train");
        Assert.That(missing.ExitCode, Is.EqualTo(1), missing.ToString);
        Assert.That(missing.Stderr, Does.Contain("train"), missing.ToString);
        Assert.That(Cli.Run("metrics", "--model", model, "--importance-split", "validation").ExitCode, Is.EqualTo(2));
    }

    [Test]
    public void Experiment_ImportancesOnTrainingImagesAreMeasuredAndKeptApart()
    {
        string data = TinyDataset.Create(_dir.File("split-study-data"));
        string model = Repository.File("models", "fmnist-mlp-bft0.hbnn");
        string outDir = _dir.File("split-study");
        var onTrain = Quick(model, outDir, "--dataset", data, "--importance-split", "train");
        Cli.Ok(onTrain);
        Assert.That(File.ReadAllText(Path.Combine(outDir, "report.md")), Does.Contain("importances on 50 training images"));
        Assert.That(Reused(onTrain), Is.EqualTo(1));
        // Other training images (the first 600 mirrored left-right), same test images: the importances are measured again.
        var train = HilBench.Bnn.Data.IdxDataset.Load(data).Train;
        var pixels = (byte[])train.Pixels.Clone();
        for (int i = 0; i < train.Count * 28; i++) Array.Reverse(pixels, i * 28, 28);
        HilBench.Bnn.Data.IdxFile.Write(Path.Combine(data, "train-images-idx3-ubyte"), [train.Count, 28, 28], pixels, gzip: false);
        Assert.That(Reused(onTrain), Is.Zero, "the training images changed");
        Assert.That(Reused(Quick(model, outDir, "--dataset", data)), Is.Zero, "importances on test images are another measurement");
    }

    [Test]
    public void Metrics_TextTable()
    {
        var run = Cli.Ok("metrics", "--model", Repository.File("models", "fmnist-mlp-bft10.hbnn"), "--images", "200", "--importance-images", "100");
        Assert.That(run.Stdout, Does.Contain("NL mean").And.Contain("variance").And.Contain("corrected").And.Contain("200 for margins"));
    }

    [Test]
    public void Experiment_WritesReportResultsCsvPlotsAndResumes()
    {
        string outDir = _dir.File("study");
        string[] args = ["experiment", "--models", Models, "--ber", "0,0.05,0.1", "--trials", "2", "--images", "300", "--importance-images", "100",
            "--profile", Repository.File("calibration", "profiles", "bram-like.json"), "--voltages", "0.56,0.54", "--out", outDir];
        var first = Cli.Ok([.. args, "--json"]).Json();
        Assert.That(first.GetProperty("models").GetInt32(), Is.EqualTo(3));
        Assert.That(first.GetProperty("reused").GetInt32(), Is.Zero);
        foreach (var file in new[] { "report.md", "results.json", "models.csv", "tolerance.csv", "layers.csv", "energy.csv", "correlations.csv",
                     "accuracy_vs_ber_mlp.png", "accuracy_vs_ber_mlp.svg", "nl_histogram_mlp.png", "scatter_mlp_BFT_family_nl_auc.png", "scatter_mlp_BFT_family_in_auc.svg",
                     "scatter_mlp_BFT_family_in_corrected_auc.png",
                     "accuracy_vs_energy_mlp.png" })
            Assert.That(File.Exists(Path.Combine(outDir, file)), Is.True, file);

        string resultsText = File.ReadAllText(Path.Combine(outDir, "results.json"));
        Assert.That(resultsText, Does.Not.Contain("NaN"), "JSON has no NaN: a missing value is null");
        using var results = JsonDocument.Parse(resultsText);
        var correlations = results.RootElement.GetProperty("correlations").EnumerateArray().ToArray();
        Assert.That(correlations, Is.Not.Empty);
        // Three models are too few for a Fisher interval (n - 3 = 0): the bounds are null, not "NaN".
        Assert.That(correlations[0].GetProperty("pearson_low").ValueKind, Is.EqualTo(JsonValueKind.Null));
        foreach (var key in new[] { "metric", "tolerance", "spearman", "pearson", "spearman_p" })
            Assert.That(correlations[0].TryGetProperty(key, out _), Is.True, key);
        // Metric names such as "NL mean, block 0" hold commas: the CSV quotes them, so every row parses to the header's fields.
        using (var csv = new Microsoft.VisualBasic.FileIO.TextFieldParser(Path.Combine(outDir, "correlations.csv")) { Delimiters = [","], HasFieldsEnclosedInQuotes = true })
        {
            var rows = new List<string[]>();
            while (!csv.EndOfData) rows.Add(csv.ReadFields()!);
            Assert.That(rows.Select(r => r.Length), Is.All.EqualTo(11));
            Assert.That(rows[0][^1], Is.EqualTo("spearman_p"));
            Assert.That(rows.Select(r => r[1]), Does.Contain("NL mean, block 0"));
            Assert.That(rows.Count - 1, Is.EqualTo(correlations.Length));
        }
        var models = results.RootElement.GetProperty("models").EnumerateArray().ToArray();
        Assert.That(models.Select(m => m.GetProperty("curve").GetArrayLength()), Is.All.EqualTo(3));
        Assert.That(models.SelectMany(m => m.GetProperty("layers").EnumerateArray()).Select(l => l.GetProperty("flip_method").GetString()), Is.All.EqualTo("exact"));
        Assert.That(models.Select(m => m.GetProperty("energy").GetArrayLength()), Is.All.EqualTo(2));

        string report = File.ReadAllText(Path.Combine(outDir, "report.md"));
        Assert.That(report, Does.Contain("![accuracy vs BER, mlp](accuracy_vs_ber_mlp.png)").And.Contain("| mlp BFT family | NL mean"));
        // Three models: rho is +-1, 0.5 or 0, p is 1/3 or more, and none is below 0.05.
        Assert.That(report, Does.Contain("| p |").And.Contain("not below 0.05").And.Not.Contain("..)"));

        // The same settings again: every model is kept from the first run.
        var second = Cli.Ok([.. args, "--json"]).Json();
        Assert.That(second.GetProperty("reused").GetInt32(), Is.EqualTo(3));
        // Other settings: measured anew.
        var third = Cli.Ok([.. args.Select(a => a == "2" ? "3" : a), "--json"]).Json(); // --trials 3
        Assert.That(third.GetProperty("reused").GetInt32(), Is.Zero);
    }

    [Test]
    public void Experiment_DamagedModelResultIsMeasuredAgain()
    {
        string outDir = _dir.File("damaged");
        string[] args = ["experiment", "--models", Repository.File("models", "fmnist-mlp-bft0.hbnn"), "--ber", "0,0.1", "--trials", "1", "--images", "100",
            "--importance-images", "50", "--profile", "none", "--out", outDir, "--json"];
        Cli.Ok(args);
        File.WriteAllText(ExperimentCommand.SavedResultPath(Path.Combine(outDir, "models"), Repository.File("models", "fmnist-mlp-bft0.hbnn")), "{ not json");
        Assert.That(Cli.Ok(args).Json().GetProperty("reused").GetInt32(), Is.Zero);
    }

    /// <summary>A quick one-model study (100 images, one pattern at BER 0.1) into <paramref name="outDir"/>.</summary>
    private static string[] Quick(string models, string outDir, params string[] more) =>
        ["experiment", "--models", models, "--ber", "0,0.1", "--trials", "1", "--images", "100", "--importance-images", "50",
         .. more.Contains("--profile") ? more : ["--profile", "none", .. more], "--out", outDir, "--json"];

    private static int Reused(string[] args) => Cli.Ok(args).Json().GetProperty("reused").GetInt32();

    [Test]
    public void Experiment_RetrainedModelIsMeasuredAgain()
    {
        string model = _dir.File("retrained-model.hbnn");
        File.Copy(Repository.File("models", "fmnist-mlp-bft0.hbnn"), model, overwrite: true);
        var args = Quick(model, _dir.File("retrained"));
        Cli.Ok(args);
        Assert.That(Reused(args), Is.EqualTo(1));
        File.SetLastWriteTimeUtc(model, DateTime.UtcNow.AddMinutes(1)); // touched, same bytes: still the same model
        Assert.That(Reused(args), Is.EqualTo(1));
        File.Copy(Repository.File("models", "fmnist-mlp-bft10.hbnn"), model, overwrite: true); // another model under the same path
        Assert.That(Reused(args), Is.Zero);
    }

    [Test]
    public void Experiment_ModelsWithTheSameFileNameInTwoDirectoriesKeepTheirOwnResults()
    {
        string a = Directory.CreateDirectory(_dir.File("twins/a")).FullName, b = Directory.CreateDirectory(_dir.File("twins/b")).FullName;
        File.Copy(Repository.File("models", "fmnist-mlp-bft0.hbnn"), Path.Combine(a, "m.hbnn"), overwrite: true);
        File.Copy(Repository.File("models", "fmnist-mlp-bft20.hbnn"), Path.Combine(b, "m.hbnn"), overwrite: true);
        string outDir = _dir.File("twins-study");
        var args = Quick($"{a}/*.hbnn,{b}/*.hbnn", outDir);
        Cli.Ok(args);
        Assert.That(Reused(args), Is.EqualTo(2));
        using var results = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "results.json")));
        var models = results.RootElement.GetProperty("models").EnumerateArray()
            .ToDictionary(m => m.GetProperty("name").GetString()!, m => m.GetProperty("clean_accuracy").GetDouble());
        Assert.That(models.Keys, Is.EquivalentTo(new[] { "a/m", "b/m" }));
        Assert.That(models["a/m"], Is.Not.EqualTo(models["b/m"]), "b/m must not get the result of a/m");
    }

    [Test]
    public void Experiment_AnotherDataSetOrProfileIsMeasuredAnew()
    {
        string data = TinyDataset.Create(_dir.File("resume-data"));
        string model = Repository.File("models", "fmnist-mlp-bft0.hbnn");
        var args = Quick(model, _dir.File("resume-data-study"), "--dataset", data);
        Cli.Ok(args);
        Assert.That(Reused(args), Is.EqualTo(1));
        // Same directory, other images: the first 200 test images mirrored left-right.
        var test = HilBench.Bnn.Data.IdxDataset.LoadTest(data);
        var pixels = (byte[])test.Pixels.Clone();
        for (int i = 0; i < test.Count * 28; i++) Array.Reverse(pixels, i * 28, 28);
        HilBench.Bnn.Data.IdxFile.Write(Path.Combine(data, "t10k-images-idx3-ubyte"), [test.Count, 28, 28], pixels, gzip: false);
        Assert.That(Reused(args), Is.Zero);

        string profile = _dir.File("edited-profile.json");
        File.Copy(Repository.File("calibration", "profiles", "bram-like.json"), profile, overwrite: true);
        var withProfile = Quick(model, _dir.File("resume-profile-study"), "--profile", profile, "--voltages", "0.56", "--chips", "1");
        Cli.Ok(withProfile);
        Assert.That(Reused(withProfile), Is.EqualTo(1));
        File.WriteAllText(profile, File.ReadAllText(profile).Replace("\"name\": \"bram-like\"", "\"name\": \"bram-edited\""));
        Assert.That(Reused(withProfile), Is.Zero, "the profile's contents changed at the same path");
    }

    [Test]
    public void Experiment_ProfileOrAsymmetricTrainedModelsAreNotInTheBftFamily()
    {
        string With(string source, string name, params (string Key, string Value)[] training)
        {
            var model = HilBench.Bnn.Model.ModelFile.Load(Repository.File("models", $"fmnist-mlp-{source}.hbnn"));
            var entries = new SortedDictionary<string, string>(model.Metadata.Training.ToDictionary(), StringComparer.Ordinal);
            foreach (var (key, value) in training) entries[key] = value;
            string path = _dir.File($"{name}.hbnn");
            HilBench.Bnn.Model.ModelFile.Save(model.WithMetadata(model.Metadata with { Training = entries }), path);
            return path;
        }
        // Both have loss ce; one was trained against a chip (rates 0), one with unequal rates.
        string chip = With("bft0", "family-chip", ("profile", "bram-like.json"), ("bft_01", "0"), ("bft_10", "0"));
        string asymmetric = With("bft10", "family-asym", ("bft_01", "0.05"), ("bft_10", "0.1"));
        string outDir = _dir.File("family");
        Cli.Ok(Quick($"{Models},{chip},{asymmetric}", outDir));
        using var results = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "results.json")));
        var bft = results.RootElement.GetProperty("models").EnumerateArray().ToDictionary(m => m.GetProperty("name").GetString()!, m => m.GetProperty("bft_rate"));
        Assert.That(bft["family-chip"].ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(bft["family-asym"].ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(bft["fmnist-mlp-bft10"].GetDouble(), Is.EqualTo(0.1));
        var n = results.RootElement.GetProperty("correlations").EnumerateArray()
            .GroupBy(c => c.GetProperty("group").GetString()!).ToDictionary(g => g.Key, g => g.First().GetProperty("n").GetInt32());
        Assert.That(n["mlp BFT family"], Is.EqualTo(3), "bft0, bft10 and bft20 only");
        Assert.That(n["mlp all models"], Is.EqualTo(5));
    }

    [TestCase("d10", "28x28x1", "no hidden block")]
    [TestCase("d16,d10", "8x8x1", "expects 8x8x1 images")]
    public void Experiment_RefusesABadModelBeforeMeasuringAny(string arch, string input, string message)
    {
        string bad = _dir.File($"bad-{input}.hbnn"), outDir = _dir.File($"bad-model-{input}");
        Cli.Ok("random", "--arch", arch, "--input", input, "--out", bad);
        var run = Cli.Run(Quick($"{Repository.File("models", "fmnist-mlp-bft0.hbnn")},{bad}", outDir));
        Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString);
        Assert.That(run.Stderr, Does.Contain(message).And.Contain(bad).And.Contain("leave it out of --models"));
        Assert.That(Directory.Exists(Path.Combine(outDir, "models")) ? Directory.GetFiles(Path.Combine(outDir, "models")) : [], Is.Empty,
            "refused before the good model was measured");
    }

    [Test]
    public void Experiment_FailureAfterSomeModelsKeepsThemAndSaysHowToGoOn()
    {
        string outDir = _dir.File("midway");
        string first = Repository.File("models", "fmnist-mlp-bft0.hbnn"), second = Repository.File("models", "fmnist-mlp-bft10.hbnn");
        // The second model's result cannot be written: a directory is in its place.
        string blocked = ExperimentCommand.SavedResultPath(Path.Combine(outDir, "models"), second);
        Directory.CreateDirectory(blocked);
        var args = Quick($"{first},{second}", outDir);
        var run = Cli.Run(args);
        Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString);
        Assert.That(run.Stderr, Does.Contain("the 1 of 2 models finished so far are kept in").And.Contain("run the same command again"));
        Directory.Delete(blocked);
        Assert.That(Reused(args), Is.EqualTo(1), "the first model is kept");
    }

    [TestCase("--models", "nowhere/*.hbnn", 1, "matches no .hbnn file")]
    [TestCase("--ber", "0,2", 2, "between 0 and 1")]
    [TestCase("--ber", "0.1", 2, "at least two different rates")]
    [TestCase("--ber", "0.1,0.1", 2, "at least two different rates")]
    [TestCase("--voltages", "0.6:0.5", 2, "START:STOP:STEP")]
    [TestCase("--voltages", "0.5:0.4:0.05", 1, "range.voltage")] // well formed, but outside the profile
    public void Experiment_BadInput(string option, string value, int exitCode, string message)
    {
        string[] models = option == "--models" ? [] : ["--models", Models];
        var run = Cli.Run(["experiment", .. models, "--images", "50", "--out", _dir.File("bad"), "--profile", Repository.File("calibration", "profiles", "bram-like.json"), option, value]);
        Assert.That(run.ExitCode, Is.EqualTo(exitCode), run.ToString);
        Assert.That(run.Stderr, Does.Contain(message));
        if (exitCode == 2) Assert.That(run.Stderr, Does.Contain("hilbench experiment --help"), "a usage error points to the help");
    }

    [Test]
    public void ParseBers_SortsAndDeduplicates() =>
        Assert.That(ExperimentCommand.ParseBers("0.1, 0, 0.05,0.1"), Is.EqualTo(new[] { 0, 0.05, 0.1 }));
}
