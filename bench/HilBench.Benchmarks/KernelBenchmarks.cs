using BenchmarkDotNet.Attributes;
using HilBench.Bnn.Kernels;
using HilBench.Bnn.Tensors;

namespace HilBench.Benchmarks;

/// <summary>
/// The MLP's two big layers in isolation, 64 rows at a time: 784 pixels x 2048 neurons and
/// 2048 x 2048 binary, with the XOR-popcount and the lookup kernel side by side.
/// </summary>
public class KernelBenchmarks
{
    private const int Rows = 64;
    private readonly int[] _a = new int[Rows * 2048];
    private ulong[] _bits = [];
    private byte[] _pixels = [];
    private BitMatrix _hidden = null!;
    private BinaryLutGemm? _lookup;
    private byte[] _lookupScratch = [];
    private PixelGemm _pixelGemm = null!;
    private ushort[] _pixelScratch = [];

    [ParamsSource(nameof(Paths))]
    public KernelPath Path { get; set; }

    public static IEnumerable<KernelPath> Paths => KernelPaths.Supported();

    [GlobalSetup]
    public void Setup()
    {
        var r = new Random(1);
        _bits = new ulong[Rows * 32];
        for (int i = 0; i < _bits.Length; i++) _bits[i] = (ulong)r.NextInt64();
        _pixels = new byte[Rows * 784];
        r.NextBytes(_pixels);
        _hidden = BitMatrix.Random(2048, 2048, r);
        if (Path == KernelPath.Vector512 && BinaryLutGemm.IsSupported)
        {
            _lookup = new BinaryLutGemm(_hidden);
            _lookupScratch = new byte[_lookup.ScratchBytes];
        }
        _pixelGemm = new PixelGemm(Path, BitMatrix.Random(2048, 784, r));
        _pixelScratch = new ushort[_pixelGemm.ScratchUShorts(Rows)];
    }

    [Benchmark(OperationsPerInvoke = Rows)]
    public void HiddenXorPopcount() => BinaryGemm.Run(Path, _bits, Rows, _hidden, _a, 2048);

    [Benchmark(OperationsPerInvoke = Rows)]
    public void HiddenLookup()
    {
        if (_lookup is null) BinaryGemm.Run(Path, _bits, Rows, _hidden, _a, 2048); // same work where the lookup kernel does not apply
        else _lookup.Run(_bits, Rows, _a, 2048, _lookupScratch);
    }

    [Benchmark(OperationsPerInvoke = Rows)]
    public void FirstLayerPixels() => _pixelGemm.Run(_pixels, Rows, _a, 2048, _pixelScratch);
}
