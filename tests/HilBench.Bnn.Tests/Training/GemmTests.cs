using HilBench.Bnn.Kernels;
using HilBench.Bnn.Training;
using HilBench.Bnn.Training.Kernels;
using NUnit.Framework;

namespace HilBench.Bnn.Tests.Training;

/// <summary>
/// <see cref="Gemm"/> against a naive double-precision product, on every kernel path this CPU
/// supports, for the three transpose cases; plus beta handling, argument checks and
/// thread-count determinism.
/// </summary>
[TestFixture]
public class GemmTests
{
    private static IEnumerable<KernelPath> Paths => Gemm.SupportedPaths();

    private static readonly Transpose[] AllTransposes = [Transpose.None, Transpose.A, Transpose.B];

    /// <summary>Sizes around the tile edges of every path (MR 4/6/12, NR 4/16/32, KC 256).</summary>
    private static IEnumerable<TestCaseData> EdgeSizes()
    {
        int[][] sizes =
        [
            [1, 1, 1], [1, 7, 1], [7, 1, 1], [1, 1, 300], [7, 31, 33], [31, 33, 7], [33, 65, 31], [65, 129, 33],
            [129, 7, 65], [12, 32, 256], [13, 33, 257], [24, 64, 512], [11, 31, 255], [6, 16, 16], [5, 15, 17],
            [129, 129, 129], [40, 3, 600], [3, 40, 600], [2, 100, 9], [100, 2, 9],
        ];
        foreach (var path in Paths)
            foreach (var t in AllTransposes)
                foreach (var s in sizes)
                    yield return new TestCaseData(path, t, s[0], s[1], s[2]).SetArgDisplayNames(path.ToString(), t.ToString(), $"{s[0]}x{s[1]}x{s[2]}");
    }

    /// <summary>The training shapes of the MLP 784-2048-2048-10 at batch 256 (both layouts of each gradient), scaled down by four, 10 classes kept.</summary>
    private static IEnumerable<TestCaseData> TrainingShapes()
    {
        (Transpose, int, int, int)[] shapes =
        [
            (Transpose.None, 64, 512, 196), (Transpose.None, 64, 512, 512),
            (Transpose.B, 64, 196, 512), (Transpose.B, 64, 512, 512),
            (Transpose.A, 512, 196, 64), (Transpose.A, 512, 512, 64),
            (Transpose.None, 64, 10, 512), (Transpose.B, 64, 512, 10), (Transpose.A, 512, 10, 64),
            (Transpose.A, 10, 512, 64), (Transpose.None, 64, 512, 10),
        ];
        foreach (var path in Paths)
            foreach (var (t, m, n, k) in shapes)
                yield return new TestCaseData(path, t, m, n, k).SetArgDisplayNames(path.ToString(), t.ToString(), $"{m}x{n}x{k}");
    }

    private static IEnumerable<TestCaseData> RandomSizes()
    {
        var r = new Random(12345);
        foreach (var path in Paths)
            for (int i = 0; i < 12; i++)
            {
                int m = r.Next(1, 150), n = r.Next(1, 150), k = r.Next(1, 700);
                var t = AllTransposes[i % 3];
                yield return new TestCaseData(path, t, m, n, k).SetArgDisplayNames(path.ToString(), t.ToString(), $"{m}x{n}x{k}");
            }
    }

    [TestCaseSource(nameof(EdgeSizes))]
    [TestCaseSource(nameof(TrainingShapes))]
    [TestCaseSource(nameof(RandomSizes))]
    public void MatchesDoubleReference(KernelPath path, Transpose transpose, int m, int n, int k)
    {
        var r = new Random(m * 1_000_003 + n * 1009 + k);
        var a = Random(r, m * k);
        var b = Random(r, k * n);
        var c = Filled(m * n, float.NaN);
        Gemm.Multiply(path, transpose, m, n, k, a, b, c);
        AssertClose(c, Reference(transpose, m, n, k, a, b, null, 0), Bounds(transpose, m, n, k, a, b, null, 0), $"{path} {transpose} {m}x{n}x{k}");
    }

    [Test]
    public void PublicOverloadUsesBestPath([Values(Transpose.None, Transpose.A, Transpose.B)] Transpose transpose)
    {
        var r = new Random(7);
        const int m = 70, n = 90, k = 300;
        var a = Random(r, m * k);
        var b = Random(r, k * n);
        var expected = new float[m * n];
        var c = new float[m * n];
        Gemm.Multiply(Gemm.SupportedPaths()[^1], transpose, m, n, k, a, b, expected);
        Gemm.Multiply(transpose, m, n, k, a, b, c);
        Assert.That(c, Is.EqualTo(expected));
    }

    [Test]
    public void BetaZeroOverwritesNaNGarbage([ValueSource(nameof(Paths))] KernelPath path, [Values(Transpose.None, Transpose.A, Transpose.B)] Transpose transpose)
    {
        var r = new Random(3);
        foreach (var (m, n, k) in new[] { (13, 37, 300), (40, 5, 70), (1, 1, 1) })
        {
            var a = Random(r, m * k);
            var b = Random(r, k * n);
            var c = Filled(m * n, float.NaN);
            c[0] = float.PositiveInfinity;
            Gemm.Multiply(path, transpose, m, n, k, a, b, c, beta: 0f);
            Assert.That(c.All(float.IsFinite), Is.True, $"{m}x{n}x{k}: garbage leaked into C");
            AssertClose(c, Reference(transpose, m, n, k, a, b, null, 0), Bounds(transpose, m, n, k, a, b, null, 0), $"{m}x{n}x{k}");
        }
    }

    [Test]
    public void BetaOneAccumulates([ValueSource(nameof(Paths))] KernelPath path, [Values(Transpose.None, Transpose.A, Transpose.B)] Transpose transpose)
    {
        var r = new Random(4);
        foreach (var (m, n, k) in new[] { (13, 37, 600), (25, 70, 33), (3, 2, 1) })
        {
            var a = Random(r, m * k);
            var b = Random(r, k * n);
            var c0 = Random(r, m * n);
            var c = (float[])c0.Clone();
            Gemm.Multiply(path, transpose, m, n, k, a, b, c, beta: 1f);
            AssertClose(c, Reference(transpose, m, n, k, a, b, c0, 1), Bounds(transpose, m, n, k, a, b, c0, 1), $"{m}x{n}x{k}");

            // Accumulating twice adds the product twice.
            Gemm.Multiply(path, transpose, m, n, k, a, b, c, beta: 1f);
            var twice = Reference(transpose, m, n, k, a, b, c0, 1);
            var product = Reference(transpose, m, n, k, a, b, null, 0);
            for (int i = 0; i < twice.Length; i++) twice[i] += product[i];
            var bounds = Bounds(transpose, m, n, k, a, b, c0, 1);
            for (int i = 0; i < bounds.Length; i++) bounds[i] *= 3;
            AssertClose(c, twice, bounds, $"{m}x{n}x{k} twice");
        }
    }

    [Test]
    public void GeneralBetaScalesC([ValueSource(nameof(Paths))] KernelPath path, [Values(-0.5f, 2f)] float beta)
    {
        var r = new Random(5);
        const int m = 29, n = 45, k = 520;
        foreach (var t in AllTransposes)
        {
            var a = Random(r, m * k);
            var b = Random(r, k * n);
            var c0 = Random(r, m * n);
            var c = (float[])c0.Clone();
            Gemm.Multiply(path, t, m, n, k, a, b, c, beta);
            AssertClose(c, Reference(t, m, n, k, a, b, c0, beta), Bounds(t, m, n, k, a, b, c0, beta), t.ToString());
        }
    }

    [Test]
    public void EmptyInnerDimensionScalesC([ValueSource(nameof(Paths))] KernelPath path)
    {
        var c = new float[] { 1, 2, float.NaN, 4, 5, 6 };
        Gemm.Multiply(path, Transpose.None, 2, 3, 0, ReadOnlySpan<float>.Empty, ReadOnlySpan<float>.Empty, c, beta: 0f);
        Assert.That(c, Is.EqualTo(new float[6]));

        c = [1, 2, 3, 4, 5, 6];
        Gemm.Multiply(path, Transpose.B, 2, 3, 0, ReadOnlySpan<float>.Empty, ReadOnlySpan<float>.Empty, c, beta: 1f);
        Assert.That(c, Is.EqualTo(new float[] { 1, 2, 3, 4, 5, 6 }));

        Gemm.Multiply(path, Transpose.A, 2, 3, 0, ReadOnlySpan<float>.Empty, ReadOnlySpan<float>.Empty, c, beta: -2f);
        Assert.That(c, Is.EqualTo(new float[] { -2, -4, -6, -8, -10, -12 }));
    }

    [Test]
    public void EmptyOutputDoesNothing()
    {
        Gemm.Multiply(Transpose.None, 0, 5, 3, ReadOnlySpan<float>.Empty, new float[15], Span<float>.Empty);
        Gemm.Multiply(Transpose.None, 5, 0, 3, new float[15], ReadOnlySpan<float>.Empty, Span<float>.Empty);
    }

    [Test]
    public void OnlyTheFirstMTimesNValuesOfCAreWritten()
    {
        var r = new Random(6);
        const int m = 20, n = 40, k = 50;
        var a = Random(r, m * k + 7);
        var b = Random(r, k * n + 7);
        var c = Filled(m * n + 9, 42f);
        Gemm.Multiply(Transpose.None, m, n, k, a, b, c, threads: 2);
        Assert.That(c.AsSpan(m * n).ToArray(), Is.All.EqualTo(42f));
        AssertClose(c.AsSpan(0, m * n).ToArray(), Reference(Transpose.None, m, n, k, a, b, null, 0), Bounds(Transpose.None, m, n, k, a, b, null, 0), "longer spans");
    }

    [Test]
    public void ShortSpansAreRejectedByName()
    {
        var big = new float[100];
        var ex = Assert.Throws<ArgumentException>(() => Gemm.Multiply(Transpose.None, 4, 5, 6, new float[23], big, big));
        Assert.That(ex!.ParamName, Is.EqualTo("a"));
        ex = Assert.Throws<ArgumentException>(() => Gemm.Multiply(Transpose.B, 4, 5, 6, big, new float[29], big));
        Assert.That(ex!.ParamName, Is.EqualTo("b"));
        ex = Assert.Throws<ArgumentException>(() => Gemm.Multiply(Transpose.A, 4, 5, 6, big, big, new float[19]));
        Assert.That(ex!.ParamName, Is.EqualTo("c"));
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Multiply(Transpose.None, -1, 5, 6, big, big, big));
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Multiply(Transpose.None, 1, -5, 6, big, big, big));
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Multiply(Transpose.None, 1, 5, -6, big, big, big));
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Multiply((Transpose)7, 1, 5, 6, big, big, big));
    }

    /// <summary>Every thread count gives the same bits: each element is summed by one worker in a fixed order.</summary>
    [Test]
    public void ResultDoesNotDependOnThreadCount([ValueSource(nameof(Paths))] KernelPath path, [Values(Transpose.None, Transpose.A, Transpose.B)] Transpose transpose)
    {
        var r = new Random(8);
        foreach (var (m, n, k, beta) in new[] { (200, 300, 700, 0f), (61, 530, 300, 1f), (515, 77, 260, 0.5f), (300, 10, 900, 0f) })
        {
            var a = Random(r, m * k);
            var b = Random(r, k * n);
            var c0 = Random(r, m * n);
            var one = (float[])c0.Clone();
            Gemm.Multiply(path, transpose, m, n, k, a, b, one, beta, threads: 1);
            foreach (int threads in new[] { 2, 3, 0 })
            {
                var many = (float[])c0.Clone();
                Gemm.Multiply(path, transpose, m, n, k, a, b, many, beta, threads);
                Assert.That(BitsOf(many), Is.EqualTo(BitsOf(one)), $"{m}x{n}x{k} beta {beta}: {threads} threads differ from 1");
            }
        }
    }

    /// <summary>Concurrent calls share the pool of packing buffers and must not disturb each other.</summary>
    [Test]
    public void ConcurrentCallsDoNotInterfere()
    {
        var r = new Random(10);
        var cases = Enumerable.Range(0, 8).Select(i =>
        {
            int m = 40 + 17 * i, n = 150 - 9 * i, k = 100 + 61 * i;
            return (T: AllTransposes[i % 3], M: m, N: n, K: k, A: Random(r, m * k), B: Random(r, k * n));
        }).ToArray();
        var expected = cases.Select(x =>
        {
            var c = new float[x.M * x.N];
            Gemm.Multiply(x.T, x.M, x.N, x.K, x.A, x.B, c);
            return c;
        }).ToArray();
        var actual = new float[cases.Length][];
        Parallel.For(0, cases.Length * 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, j =>
        {
            var x = cases[j % cases.Length];
            var c = Filled(x.M * x.N, float.NaN);
            Gemm.Multiply(x.T, x.M, x.N, x.K, x.A, x.B, c, threads: 2);
            if (j < cases.Length) actual[j] = c;
            else if (!BitsOf(c).SequenceEqual(BitsOf(expected[j % cases.Length]))) throw new InvalidOperationException($"case {j % cases.Length} differs");
        });
        for (int i = 0; i < cases.Length; i++) Assert.That(BitsOf(actual[i]), Is.EqualTo(BitsOf(expected[i])), $"case {i}");
    }

    /// <summary>The AVX-512 and AVX2 kernels both fuse and block k alike, so they agree bit for bit.</summary>
    [Test]
    public void FusedPathsAgreeBitForBit([Values(Transpose.None, Transpose.A, Transpose.B)] Transpose transpose)
    {
        if (!Gemm.IsSupported(KernelPath.Vector512) || !Gemm.IsSupported(KernelPath.Vector256)) Assert.Ignore("needs AVX-512F and AVX2+FMA");
        var r = new Random(9);
        foreach (var (m, n, k) in new[] { (77, 95, 600), (256, 10, 300) })
        {
            var a = Random(r, m * k);
            var b = Random(r, k * n);
            var c0 = Random(r, m * n);
            var wide = (float[])c0.Clone();
            var narrow = (float[])c0.Clone();
            Gemm.Multiply(KernelPath.Vector512, transpose, m, n, k, a, b, wide, 1f, threads: 2);
            Gemm.Multiply(KernelPath.Vector256, transpose, m, n, k, a, b, narrow, 1f, threads: 2);
            Assert.That(BitsOf(wide), Is.EqualTo(BitsOf(narrow)), $"{m}x{n}x{k}");
        }
    }

    [Test]
    public unsafe void Transpose16x16MovesRowsToColumns([Values(16, 13, 1)] int rows, [Values(16, 12, 8, 4)] int width)
    {
        if (!System.Runtime.Intrinsics.X86.Avx512F.IsSupported) Assert.Ignore("needs AVX-512F");
        const int srcStride = 21, dstStride = 19;
        var src = new float[16 * srcStride];
        for (int i = 0; i < src.Length; i++) src[i] = i + 1;
        var dst = Filled(16 * dstStride, -1f);
        fixed (float* s = src, d = dst) GemmPacking.Transpose16x16(s, srcStride, rows, d, dstStride, width);
        for (int t = 0; t < 16; t++)
            for (int x = 0; x < dstStride; x++)
            {
                float expected = x >= width ? -1f : x < rows ? src[x * srcStride + t] : 0f;
                Assert.That(dst[t * dstStride + x], Is.EqualTo(expected), $"row {t}, column {x}");
            }
    }

    // ---- helpers ----

    private static float[] Random(Random r, int count)
    {
        var x = new float[count];
        for (int i = 0; i < count; i++) x[i] = (float)(r.NextDouble() * 2 - 1);
        return x;
    }

    private static float[] Filled(int count, float value)
    {
        var x = new float[count];
        Array.Fill(x, value);
        return x;
    }

    private static int[] BitsOf(float[] x) => x.Select(BitConverter.SingleToInt32Bits).ToArray();

    private static double OpA(Transpose t, float[] a, int m, int k, int i, int p) => t == Transpose.A ? a[p * m + i] : a[i * k + p];

    private static double OpB(Transpose t, float[] b, int n, int k, int p, int j) => t == Transpose.B ? b[j * k + p] : b[p * n + j];

    /// <summary>beta * c0 + op(A) op(B) in double precision.</summary>
    private static double[] Reference(Transpose t, int m, int n, int k, float[] a, float[] b, float[]? c0, double beta)
    {
        var c = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = c0 is null ? 0 : beta * c0[i * n + j];
                for (int p = 0; p < k; p++) s += OpA(t, a, m, k, i, p) * OpB(t, b, n, k, p, j);
                c[i * n + j] = s;
            }
        return c;
    }

    /// <summary>
    /// Allowed error per element: the float rounding bound of a k-term sum, (k + 2) u times the sum
    /// of the magnitudes of the terms (u = 2^-24), with a factor 2 of slack.
    /// </summary>
    private static double[] Bounds(Transpose t, int m, int n, int k, float[] a, float[] b, float[]? c0, double beta)
    {
        var e = new double[m * n];
        const double u = 1.0 / (1 << 24);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = c0 is null ? 0 : Math.Abs(beta * c0[i * n + j]);
                for (int p = 0; p < k; p++) s += Math.Abs(OpA(t, a, m, k, i, p) * OpB(t, b, n, k, p, j));
                e[i * n + j] = 2 * (k + 2) * u * s + 1e-30;
            }
        return e;
    }

    private static void AssertClose(float[] actual, double[] expected, double[] bounds, string what)
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Length));
        for (int i = 0; i < actual.Length; i++)
        {
            double err = Math.Abs(actual[i] - expected[i]);
            if (!(err <= bounds[i]))
                Assert.Fail($"{what}: element {i} is {actual[i]}, expected {expected[i]} (error {err:G3} > bound {bounds[i]:G3})");
        }
    }
}
