using System.Diagnostics;
using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using HilBench.Bnn.Kernels;

namespace HilBench.Bnn.Inference;

/// <summary>
/// Measurements behind <c>hilbench bench</c>: inference images per second (median of repeated runs) and
/// the single-thread XOR+popcount streaming rate, the roofline a BNN kernel is compared with.
/// </summary>
public static class Throughput
{
    /// <summary>Median images/s of <paramref name="repeats"/> timed runs after a warm-up of at least two runs and 0.3 s.</summary>
    public static Measurement ImagesPerSecond(InferenceEngine engine, ReadOnlyMemory<byte> pixels, int count, int threads, int repeats)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(repeats);
        // Warm up until the JIT has settled on optimized code for everything the run touches.
        var warm = Stopwatch.StartNew();
        for (int i = 0; i < 2 || warm.Elapsed.TotalSeconds < 0.3; i++) engine.Run(pixels, count, threads);
        var rates = new double[repeats];
        for (int i = 0; i < repeats; i++)
        {
            var sw = Stopwatch.StartNew();
            engine.Run(pixels, count, threads);
            rates[i] = count / sw.Elapsed.TotalSeconds;
        }
        return Measurement.Of(rates);
    }

    /// <summary>
    /// Single-thread rate (bits/s) of XORing two bit arrays of <paramref name="bits"/> bits and counting the
    /// ones, the work a BNN does per weight bit per image. Measured with every counting method available
    /// here (64-bit popcnt, 256- and 512-bit nibble tables) and the fastest is reported.
    /// </summary>
    public static Measurement PopcountBitsPerSecond(long bits, int repeats, int seed = 1)
    {
        int words = (int)((bits + 511) / 512 * 8);
        var a = new ulong[words];
        var b = new ulong[words];
        var r = new Random(seed);
        for (int i = 0; i < words; i++)
        {
            a[i] = (ulong)r.NextInt64();
            b[i] = (ulong)r.NextInt64();
        }
        var methods = new List<Func<ulong[], ulong[], long>> { XorPopcountScalar };
        if (Avx2.IsSupported) methods.Add(XorPopcount256);
        if (Avx512BW.IsSupported) methods.Add(XorPopcount512);
        long expected = XorPopcountScalar(a, b);
        Measurement best = default;
        foreach (var method in methods)
        {
            if (method(a, b) != expected) throw new InvalidOperationException("popcount methods disagree");
            // Enough passes per timing that one timing lasts tens of milliseconds.
            int passes = Math.Max(1, (int)(2e9 / Math.Max(1, words * 64L) / 4));
            var rates = new double[repeats];
            for (int i = 0; i < repeats; i++)
            {
                var sw = Stopwatch.StartNew();
                long sink = 0;
                for (int p = 0; p < passes; p++) sink += method(a, b);
                rates[i] = (double)words * 64 * passes / sw.Elapsed.TotalSeconds;
                GC.KeepAlive(sink);
            }
            var m = Measurement.Of(rates);
            if (m.Median > best.Median) best = m;
        }
        return best;
    }

    private static unsafe long XorPopcountScalar(ulong[] a, ulong[] b)
    {
        long s0 = 0, s1 = 0;
        fixed (ulong* pa = a, pb = b)
        {
            for (int i = 0; i < a.Length; i += 2)
            {
                s0 += BitOperations.PopCount(pa[i] ^ pb[i]);
                s1 += BitOperations.PopCount(pa[i + 1] ^ pb[i + 1]);
            }
        }
        return s0 + s1;
    }

    private static unsafe long XorPopcount256(ulong[] a, ulong[] b)
    {
        var lut = BinaryGemm.NibbleCounts256;
        var nib = Vector256.Create((byte)0x0F);
        var total = Vector256<ulong>.Zero;
        fixed (ulong* pa = a, pb = b)
        {
            for (int i = 0; i < a.Length;)
            {
                int end = Math.Min(a.Length, i + 4 * BinaryGemm.FlushEvery);
                var acc = Vector256<byte>.Zero;
                for (; i < end; i += 4) acc += BinaryGemm.Count256(Vector256.Load(pa + i) ^ Vector256.Load(pb + i), lut, nib);
                total += Avx2.SumAbsoluteDifferences(acc, Vector256<byte>.Zero).AsUInt64();
            }
        }
        return (long)Vector256.Sum(total);
    }

    private static unsafe long XorPopcount512(ulong[] a, ulong[] b)
    {
        var lut = BinaryGemm.NibbleCounts512;
        var nib = Vector512.Create((byte)0x0F);
        var total = Vector512<ulong>.Zero;
        fixed (ulong* pa = a, pb = b)
        {
            for (int i = 0; i < a.Length;)
            {
                int end = Math.Min(a.Length, i + 8 * BinaryGemm.FlushEvery);
                var acc = Vector512<byte>.Zero;
                for (; i < end; i += 8) acc += BinaryGemm.Count512(Vector512.Load(pa + i) ^ Vector512.Load(pb + i), lut, nib);
                total += Avx512BW.SumAbsoluteDifferences(acc, Vector512<byte>.Zero).AsUInt64();
            }
        }
        return (long)Vector512.Sum(total);
    }
}

/// <summary>Median, minimum and maximum of repeated measurements.</summary>
public readonly record struct Measurement(double Median, double Min, double Max, int Samples)
{
    public static Measurement Of(IReadOnlyList<double> samples)
    {
        var s = samples.Order().ToArray();
        double median = s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
        return new Measurement(median, s[0], s[^1], s.Length);
    }
}
