using System.Collections.Concurrent;
using HilBench.Bnn.Data;
using HilBench.Bnn.Inference;
using HilBench.Bnn.Layers;
using HilBench.Bnn.Model;
using HilBench.Bnn.Tensors;

namespace HilBench.Metrics.Tests.Support;

/// <summary>Models and data for the prediction, tolerance and statistics tests: shipped files (loaded once) and small seeded ones.</summary>
internal static class PredictionFixtures
{
    private static readonly Lazy<string> RootDir = new(FindRoot);
    private static readonly ConcurrentDictionary<string, BnnModel> Models = new();
    private static readonly Lazy<ImageSet> Test = new(() => IdxDataset.LoadTest(Path.Combine(RootDir.Value, "datasets", "fashion-mnist")));

    /// <summary>A shipped model by file name without extension, e.g. "fmnist-mlp-bft0" (loaded once; never modify it).</summary>
    public static BnnModel Shipped(string name) => Models.GetOrAdd(name, n => ModelFile.Load(Path.Combine(RootDir.Value, "models", n + ".hbnn")));

    /// <summary>A file of the checkout, e.g. RepoFile("calibration", "profiles", "bram-like.json").</summary>
    public static string RepoFile(params string[] parts) => Path.Combine([RootDir.Value, .. parts]);

    /// <summary>The first <paramref name="count"/> Fashion-MNIST test images.</summary>
    public static ImageSet TestImages(int count) => Test.Value.Take(count);

    /// <summary>A random MLP on 8x8x1 inputs: dense(hidden...) then dense10, random thresholds in -2..2 with mixed orientation.</summary>
    public static BnnModel SmallMlp(int seed = 1, string hidden = "dense48,dense40") =>
        ModelBuilder.FromSpec($"{hidden},dense10", new TensorShape(8, 8, 1), new Random(seed));

    /// <summary>Random 8-bit images with random labels.</summary>
    public static ImageSet RandomImages(TensorShape shape, int count, int seed, int classes = 10)
    {
        var random = new Random(seed);
        var pixels = new byte[count * shape.Size];
        random.NextBytes(pixels);
        var labels = new byte[count];
        for (int i = 0; i < count; i++) labels[i] = (byte)random.Next(classes);
        return new ImageSet(shape, pixels, labels, classes);
    }

    /// <summary>Error-free run with every block's activations.</summary>
    public static InferenceResult Capture(BnnModel model, ImageSet data) =>
        new InferenceEngine(model).Run(data.Pixels, data.Count, threads: 1, captureLayers: true);

    /// <summary>
    /// A model whose block 1 has small fan-in, so every weight-flip pattern of a neuron can be enumerated: input 1x1xn pixels,
    /// block 0 dense(n) with random weights and thresholds near its sums so that its outputs vary, block 1 dense(neurons) with
    /// thresholds spread around 0 (ties included), output dense3.
    /// </summary>
    public static BnnModel SmallFanIn(int n, int neurons, int seed)
    {
        var random = new Random(seed);
        var input = new TensorShape(1, 1, n);
        var w0 = BitMatrix.Random(n, n, random);
        var t0 = Fill(n, i => random.Next(-200, 200));
        var w1 = BitMatrix.Random(neurons, n, random);
        var t1 = Fill(neurons, j => random.Next(-n / 2, n / 2 + 1));
        var asc1 = new bool[neurons];
        for (int j = 0; j < neurons; j++) asc1[j] = random.Next(3) != 0;
        var layers = new BnnLayer[]
        {
            new BinaryDense(input, w0), new ThresholdLayer(TensorShape.Vector(n), t0, Fill(n, _ => true)),
            new BinaryDense(TensorShape.Vector(n), w1), new ThresholdLayer(TensorShape.Vector(neurons), t1, asc1),
            new BinaryDense(TensorShape.Vector(neurons), BitMatrix.Random(3, neurons, random)),
        };
        return new BnnModel(input, layers);
    }

    private static T[] Fill<T>(int n, Func<int, T> f)
    {
        var a = new T[n];
        for (int i = 0; i < n; i++) a[i] = f(i);
        return a;
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "HilBench.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no HilBench.sln above {TestContext.CurrentContext.TestDirectory}");
    }
}
