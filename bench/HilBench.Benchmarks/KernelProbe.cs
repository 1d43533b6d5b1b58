using System.Diagnostics;
using HilBench.Bnn.Kernels;
using HilBench.Bnn.Tensors;

namespace HilBench.Benchmarks;

/// <summary>Quick CPU-time probe of single kernels (no BenchmarkDotNet), for iterating on kernel design.</summary>
internal static class KernelProbe
{
    public static void Run()
    {
        var r = new Random(1);
        int rows = 64;
        var x = new ulong[rows * 32];
        for (int i = 0; i < x.Length; i++) x[i] = (ulong)r.NextInt64();
        var w = BitMatrix.Random(2048, 2048, r);
        var a = new int[rows * 2048];
        var lut = new BinaryLutGemm(w);
        var scratch = new byte[lut.ScratchBytes];
        var px = new byte[rows * 784];
        r.NextBytes(px);
        for (int i = 0; i < px.Length; i++) if (r.Next(2) == 0) px[i] = 0;
        var w1 = BitMatrix.Random(2048, 784, r);
        var pg = new PixelGemm(KernelPath.Vector512, w1);
        var ps = new ushort[pg.ScratchUShorts(rows)];
        Time("xor-popcount 2048x2048 V512", rows, () => BinaryGemm.Run(KernelPath.Vector512, x, rows, w, a, 2048));
        Time("lookup 2048x2048 V512", rows, () => lut.Run(x, rows, a, 2048, scratch));
        Time("pixels 784x2048 V512", rows, () => pg.Run(px, rows, a, 2048, ps));
        var blank = new byte[px.Length];
        Time("pixels 784x2048 V512, blank images", rows, () => pg.Run(blank, rows, a, 2048, ps));
    }

    private static void Time(string name, int rows, Action run)
    {
        for (int i = 0; i < 20; i++) run();
        var samples = new List<double>();
        for (int k = 0; k < 7; k++)
        {
            var t0 = Process.GetCurrentProcess().TotalProcessorTime;
            for (int i = 0; i < 50; i++) run();
            samples.Add((Process.GetCurrentProcess().TotalProcessorTime - t0).TotalSeconds / (50.0 * rows));
        }
        samples.Sort();
        Console.WriteLine($"{name}: {samples[3] * 1e6:F2} us per row (cpu)");
    }
}
