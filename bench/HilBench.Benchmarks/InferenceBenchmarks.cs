using BenchmarkDotNet.Attributes;
using HilBench.Bnn.Data;
using HilBench.Bnn.Inference;
using HilBench.Bnn.Kernels;
using HilBench.Bnn.Model;

namespace HilBench.Benchmarks;

/// <summary>Single-thread inference of the reference architectures on 1,000 Fashion-MNIST test images, per kernel path.</summary>
[MemoryDiagnoser]
public class InferenceBenchmarks
{
    private const int Images = 1000;
    private byte[] _pixels = [];
    private InferenceEngine _mlp = null!;
    private InferenceEngine _vgg3 = null!;

    [ParamsSource(nameof(Paths))]
    public KernelPath Path { get; set; }

    public static IEnumerable<KernelPath> Paths => KernelPaths.Supported();

    [GlobalSetup]
    public void Setup()
    {
        _pixels = IdxDataset.LoadTest(IdxDataset.DefaultDirectory()).Take(Images).Pixels;
        _mlp = new InferenceEngine(ModelBuilder.Mlp(new Random(1)), Path);
        _vgg3 = new InferenceEngine(ModelBuilder.Vgg3(new Random(2)), Path);
    }

    [Benchmark(OperationsPerInvoke = Images)]
    public int Mlp() => _mlp.Run(_pixels, Images, threads: 1).Predictions[0];

    [Benchmark(OperationsPerInvoke = Images)]
    public int Vgg3() => _vgg3.Run(_pixels, Images, threads: 1).Predictions[0];
}
