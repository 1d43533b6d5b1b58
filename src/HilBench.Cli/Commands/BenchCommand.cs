using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using HilBench.Bnn.Data;
using HilBench.Bnn.Inference;
using HilBench.Bnn.Kernels;
using HilBench.Bnn.Model;

namespace HilBench.Cli.Commands;

/// <summary>
/// <c>hilbench bench</c>: inference throughput of the two reference architectures (random weights, fixed seeds)
/// on the test images, one thread and all threads, against the single-thread XOR+popcount streaming rate.
/// </summary>
public static class BenchCommand
{
    public const int DefaultImages = 10_000;
    public const int DefaultRepeats = 5;
    public const int MlpSeed = 1;
    public const int Vgg3Seed = 2;

    public static Command Create(CliContext context)
    {
        var json = CliOptions.Json("the measurements");
        var repeats = CliOptions.Integer("--repeats",
            "timed runs per measurement, after a warm-up (at least two runs and 0.3 s); the median is reported (VGG3 uses half as many, rounded up)",
            DefaultRepeats, 1);
        var threads = CliOptions.Threads("threads for the all-threads measurement (0 = all cores)");
        var dataset = CliOptions.Dataset();
        var kernel = CliOptions.Kernel();
        var images = CliOptions.Integer("--images",
            "time the first N test images (a small N is a quick smoke test, not a benchmark)",
            DefaultImages, 1);
        var command = new Command("bench", "Measure inference images/s of the MLP and VGG3 and compare with the XOR+popcount roofline.")
        {
            json, repeats, threads, dataset, kernel, images,
        };
        command.SetAction(r => CliErrors.Guard(context, () => Execute(context, new Settings(
            r.GetValue(json),
            r.GetValue(repeats),
            r.GetValue(threads),
            r.GetValue(dataset),
            CliOptions.KernelPathOf(r.GetRequiredValue(kernel)),
            r.GetValue(images)))));
        return command;
    }

    public sealed record Settings(bool Json, int Repeats, int Threads, string? Dataset, KernelPath Kernel, int Images);

    /// <summary>Throughput of one architecture; <see cref="RooflineRatio"/> = images/s (1 thread) x weight bits / popcount bits/s.</summary>
    public sealed record ModelResult(
        string Name, string Architecture, int Seed, long WeightBits, int Repeats,
        Measurement OneThread, Measurement AllThreads, double RooflineRatio);

    public sealed record Report(
        string Dataset, int Images, KernelPath Kernel, int Threads, int Repeats, int ProcessorCount,
        ModelResult Mlp, ModelResult Vgg3, Measurement Popcount);

    /// <summary>VGG3 costs several times the MLP per image, so it is timed with half the repeats (at least one).</summary>
    public static int Vgg3Repeats(int repeats) => Math.Max(1, (repeats + 1) / 2);

    public static int Execute(CliContext context, Settings settings)
    {
        var report = context.WithStatus(settings.Json, "Loading the test images", status => Measure(settings, status));
        if (settings.Json) WriteJson(context, report);
        else WriteText(context, report);
        return CliErrors.Success;
    }

    public static Report Measure(Settings settings, Action<string> status)
    {
        string dir = Path.GetFullPath(settings.Dataset ?? IdxDataset.DefaultDirectory());
        var test = IdxDataset.LoadTest(dir);
        if (settings.Images > test.Count)
            throw new CliException($"--images {settings.Images} is more than the {test.Count} test images in {dir}");
        if (test.Shape.Height < 4 || test.Shape.Width < 4)
            throw new CliException($"the images in {dir} are {test.Shape}; VGG3's two 2x2 poolings need at least 4x4 images");
        var pixels = test.Pixels.AsMemory(0, settings.Images * test.Shape.Size);
        int threads = CliOptions.ResolveThreads(settings.Threads);
        var kernel = KernelPaths.Resolve(settings.Kernel);

        var mlp = ModelBuilder.Mlp(new Random(MlpSeed), test.Shape);
        var vgg3 = ModelBuilder.Vgg3(new Random(Vgg3Seed), test.Shape);

        status("XOR+popcount streaming rate, 1 thread");
        var popcount = Throughput.PopcountBitsPerSecond(mlp.WeightBits, settings.Repeats);

        ModelResult Time(string name, BnnModel model, int seed, int repeats)
        {
            var engine = new InferenceEngine(model, kernel);
            status($"{name}: {settings.Images} images, 1 thread, {repeats} repeats");
            var one = Throughput.ImagesPerSecond(engine, pixels, settings.Images, 1, repeats);
            status($"{name}: {settings.Images} images, {threads} threads, {repeats} repeats");
            var all = Throughput.ImagesPerSecond(engine, pixels, settings.Images, threads, repeats);
            return new ModelResult(name, Formatting.ShortArchitecture(model), seed, model.WeightBits, repeats, one, all,
                one.Median * model.WeightBits / popcount.Median);
        }

        var mlpResult = Time("MLP", mlp, MlpSeed, settings.Repeats);
        var vgg3Result = Time("VGG3", vgg3, Vgg3Seed, Vgg3Repeats(settings.Repeats));
        return new Report(dir, settings.Images, kernel, threads, settings.Repeats, Environment.ProcessorCount,
            mlpResult, vgg3Result, popcount);
    }

    private static JsonObject ModelJson(ModelResult m) => new()
    {
        ["architecture"] = m.Architecture,
        ["seed"] = m.Seed,
        ["weight_bits"] = m.WeightBits,
        ["repeats"] = m.Repeats,
        ["images_per_s_1t"] = m.OneThread.Median,
        ["images_per_s_1t_min"] = m.OneThread.Min,
        ["images_per_s_1t_max"] = m.OneThread.Max,
        ["images_per_s_all"] = m.AllThreads.Median,
        ["images_per_s_all_min"] = m.AllThreads.Min,
        ["images_per_s_all_max"] = m.AllThreads.Max,
        ["roofline_ratio"] = m.RooflineRatio,
    };

    private static void WriteJson(CliContext context, Report r) => JsonOutput.Write(context, new JsonObject
    {
        ["mlp"] = ModelJson(r.Mlp),
        ["vgg3"] = ModelJson(r.Vgg3),
        ["popcount_bits_per_s_1t"] = r.Popcount.Median,
        ["popcount_bits_per_s_1t_min"] = r.Popcount.Min,
        ["popcount_bits_per_s_1t_max"] = r.Popcount.Max,
        ["popcount_bits"] = r.Mlp.WeightBits,
        ["kernel"] = CliOptions.NameOf(r.Kernel),
        ["threads"] = r.Threads,
        ["repeats"] = r.Repeats,
        ["processor_count"] = r.ProcessorCount,
        ["images"] = r.Images,
        ["dataset"] = r.Dataset,
    });

    private static void WriteText(CliContext context, Report r)
    {
        var o = context.Out;
        o.WriteLine($"images   {Formatting.Count(r.Images)} test images from {Formatting.DisplayPath(r.Dataset)}");
        o.WriteLine($"kernel   {CliOptions.NameOf(r.Kernel)}, all threads = {r.Threads} ({r.ProcessorCount} processors)");
        o.WriteLine($"runs     median of {r.Mlp.Repeats} timed runs for the MLP and {r.Vgg3.Repeats} for VGG3 (half, rounded up), each after a warm-up of at least two runs and 0.3 s");
        o.WriteLine($"weights  random, seeds {MlpSeed} (MLP) and {Vgg3Seed} (VGG3)");
        o.Flush();

        // One column per model keeps the table within an 80-column terminal.
        var models = new[] { r.Mlp, r.Vgg3 };
        var table = Formatting.Table(["", .. models.Select(m => ">" + m.Name)]);
        void Row(string label, Func<ModelResult, string> cell) => Formatting.Row(table, [label, .. models.Select(cell)]);
        string threads = $"{r.Threads} thread{(r.Threads == 1 ? "" : "s")}";
        Row("architecture", m => m.Architecture);
        Row("weight bits", m => Formatting.Count(m.WeightBits));
        Row("timed runs (median of)", m => m.Repeats.ToString(CultureInfo.InvariantCulture));
        Row("images/s, 1 thread", m => Formatting.Rate(m.OneThread.Median));
        Row("  min..max", m => $"{Formatting.Rate(m.OneThread.Min)}..{Formatting.Rate(m.OneThread.Max)}");
        Row($"images/s, {threads}", m => Formatting.Rate(m.AllThreads.Median));
        Row("  min..max", m => $"{Formatting.Rate(m.AllThreads.Min)}..{Formatting.Rate(m.AllThreads.Max)}");
        Row("roofline ratio", m => Formatting.Fixed(m.RooflineRatio, 2));
        context.Console.Write(table);
        o.WriteLine($"XOR+popcount streaming, 1 thread: {Formatting.BitsPerSecond(r.Popcount.Median)} " +
                    $"(median of {r.Popcount.Samples}, over two {Formatting.Count(r.Mlp.WeightBits)}-bit arrays)");
        o.WriteLine("roofline ratio = images/s (1 thread) x weight bits / XOR+popcount bits/s (1 thread).");
        o.WriteLine("  Above 1 is possible: a tile of images shares each weight load. Conv weights are applied at");
        o.WriteLine("  every position, so VGG3 does more XOR+popcount work per weight bit than the MLP.");
    }
}
