using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using HilBench.Bnn.Data;
using HilBench.Bnn.Inference;
using HilBench.Bnn.Model;
using HilBench.Memory;
using HilBench.Memory.Backends;
using HilBench.Memory.Images;
using HilBench.Memory.Profiles;

namespace HilBench.Benchmarks;

/// <summary>
/// The memory layer's cost targets: one uniform-BER load (1e-3) of the MLP's 5.8 Mbit image against one
/// single-thread inference pass over the 10,000 test images, and one emulated-SRAM load at BER about 1e-4
/// of an all-ones image filling a 64 Mbit device (the shipped bram-like profile).
/// </summary>
[MemoryDiagnoser]
public class MemoryBenchmarks
{
    private readonly Fixture _f = new();

    [GlobalSetup]
    public void Setup() => _f.Build();

    [Benchmark]
    public int UniformLoadMlp() => _f.Uniform.Load(new LoadRequest(default, 7)).Faults.Count;

    [Benchmark]
    public BnnModel UniformLoadMlpToModel() => _f.Uniform.Load(new LoadRequest(default, 7)).CopyTo(_f.MlpBuffer).ToModel(_f.Mlp);

    [Benchmark]
    public int SramLoad64Mbit() => _f.Sram.Load(new LoadRequest(_f.SramPoint)).Faults.Count;

    [Benchmark]
    public long SramChip64Mbit() => new EmulatedSram(_f.Profile, 2).Chip.WeakCellCount;

    [Benchmark]
    public int InferencePass() => _f.Engine.Run(_f.Pixels, _f.Count, threads: 1).Predictions[0];

    /// <summary>Everything the benchmarks need, also used by the quick <c>memory</c> probe.</summary>
    public sealed class Fixture
    {
        public BnnModel Mlp = null!;
        public WeightImage MlpBuffer = null!;
        public UniformBerBackend Uniform = null!;
        public EmulatedSram Sram = null!;
        public DeviceProfile Profile = null!;
        public OperatingPoint SramPoint;
        public InferenceEngine Engine = null!;
        public byte[] Pixels = [];
        public int Count;

        public void Build()
        {
            Mlp = ModelBuilder.Mlp(new Random(1));
            Uniform = new UniformBerBackend(1e-3, 1);
            Uniform.Store(WeightImage.FromModel(Mlp));
            MlpBuffer = WeightImage.FromModel(Mlp);
            var test = IdxDataset.LoadTest(IdxDataset.DefaultDirectory());
            (Pixels, Count) = (test.Pixels.ToArray(), test.Count);
            Engine = new InferenceEngine(Mlp);

            Profile = DeviceProfile.Load(Path.Combine(Repository.Root, "calibration", "profiles", "bram-like.json"));
            // The voltage where the expected BER of all-ones data is closest to 1e-4.
            SramPoint = Enumerable.Range(0, 47).Select(i => new OperatingPoint(0.54 + i * 0.001))
                .MinBy(op => Math.Abs(Math.Log(Profile.Model.ExpectedBer(op, onesShare: 1) / 1e-4)));
            var g = Profile.Geometry;
            var layout = new ImageLayout([new ImageRegion(0, RegionKind.Weights, 0, (int)(g.TotalBits / 1024), 1024)]);
            var image = new WeightImage(layout);
            for (long i = 0; i < image.BitCount; i++) image[i] = true; // 0xFFFF..., the usual undervolting test pattern
            Sram = new EmulatedSram(Profile);
            Sram.Store(image);
        }
    }

    /// <summary>A few seconds: medians of CPU-time-free wall clock over repeated runs, all in one process, with the ratios the targets name.</summary>
    public static void Probe()
    {
        var f = new Fixture();
        f.Build();
        double Median(Action a, int runs)
        {
            a();
            var t = new double[runs];
            for (int i = 0; i < runs; i++)
            {
                var w = Stopwatch.StartNew();
                a();
                t[i] = w.Elapsed.TotalMilliseconds;
            }
            Array.Sort(t);
            return t[runs / 2];
        }
        var load = f.Uniform.Load(new LoadRequest(default, 7));
        double uniform = Median(() => f.Uniform.Load(new LoadRequest(default, 7)), 51);
        var heavy = new UniformBerBackend(0.05, 1);
        heavy.Store(WeightImage.FromModel(f.Mlp));
        double uniform5 = Median(() => heavy.Load(new LoadRequest(default, 7)), 21);
        var buffer = new WeightImage(load.Image.Layout);
        double toModel = Median(() => load.CopyTo(buffer).ToModel(f.Mlp), 21);
        double pass = Median(() => f.Engine.Run(f.Pixels, f.Count, threads: 1), 9);
        var sramLoad = f.Sram.Load(new LoadRequest(f.SramPoint));
        double sram = Median(() => f.Sram.Load(new LoadRequest(f.SramPoint)), 21);
        var big = new WeightImage(sramLoad.Image.Layout);
        double sramApply = Median(() => sramLoad.CopyTo(big), 21);
        double chip = Median(() => _ = new EmulatedSram(f.Profile, 2), 5);
        Console.WriteLine($"uniform BER 1e-3 load of the MLP image ({load.Image.BitCount:N0} bits, {load.Faults.Count:N0} faults): {uniform:F3} ms");
        Console.WriteLine($"  faults -> reused image -> model: {toModel:F3} ms");
        Console.WriteLine($"  the same load at BER 5e-2 (about 291,000 faults): {uniform5:F1} ms");
        Console.WriteLine($"single-thread inference pass, {f.Count:N0} images: {pass:F1} ms");
        Console.WriteLine($"  load / pass = {uniform / pass:P2} (target <= 2%); with the model built: {(uniform + toModel) / pass:P2}");
        Console.WriteLine($"emulated SRAM load, {f.Profile.Name}, {f.Profile.Geometry.TotalBits:N0}-bit image at {f.SramPoint} " +
                          $"(BER {sramLoad.BitErrorRate:G3}, {sramLoad.Faults.Count:N0} faults): {sram:F2} ms (target <= 10 ms)");
        Console.WriteLine($"  faults applied to a reused 64 Mbit image: {sramApply:F2} ms");
        Console.WriteLine($"  generating a chip ({f.Sram.Chip.WeakCellCount:N0} weak cells): {chip:F2} ms");
    }
}
