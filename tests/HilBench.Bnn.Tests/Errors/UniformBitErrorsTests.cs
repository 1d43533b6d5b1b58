using HilBench.Bnn.Errors;
using HilBench.Bnn.Model;
using HilBench.Bnn.Tensors;
using NUnit.Framework;

namespace HilBench.Bnn.Tests.Errors;

[TestFixture]
public class UniformBitErrorsTests
{
    /// <summary>Flip counts are binomial(n, p): within 4 standard deviations of n*p, a bound that fails about once in 16,000 runs (and never for these fixed seeds).</summary>
    [TestCase(1e-5)]
    [TestCase(1e-3)]
    [TestCase(0.1)]
    public void SymmetricFlipFractionIsWithinFourSigma(double p)
    {
        var w = BitMatrix.Random(2048, 2048, new Random(1));
        var before = w.Clone();
        long flipped = new UniformBitErrors(p).Inject(w, 0, new Random(2));
        double n = w.BitCount, sigma = Math.Sqrt(n * p * (1 - p));
        Assert.That(Math.Abs(flipped - n * p), Is.LessThanOrEqualTo(4 * sigma), $"{flipped} flips of {n} bits at p = {p}");
        Assert.That(CountDifferences(before, w), Is.EqualTo(flipped));
        Assert.That(w.PaddingIsZero(), Is.True);
    }

    [Test]
    public void AsymmetricRatesAreRespectedPerStoredValue()
    {
        const double p01 = 0.02, p10 = 0.002;
        var w = BitMatrix.Random(1000, 1000, new Random(3));
        var before = w.Clone();
        new UniformBitErrors(p01, p10).Inject(w, 0, new Random(4));
        long zeros = 0, ones = 0, zeroToOne = 0, oneToZero = 0;
        for (int r = 0; r < w.Rows; r++)
            for (int c = 0; c < w.Columns; c++)
            {
                if (before[r, c]) { ones++; if (!w[r, c]) oneToZero++; }
                else { zeros++; if (w[r, c]) zeroToOne++; }
            }
        Assert.That(Math.Abs(zeroToOne - zeros * p01), Is.LessThanOrEqualTo(4 * Math.Sqrt(zeros * p01 * (1 - p01))));
        Assert.That(Math.Abs(oneToZero - ones * p10), Is.LessThanOrEqualTo(4 * Math.Sqrt(ones * p10 * (1 - p10))));
    }

    /// <summary>Packed bits at any offset get the draws a matrix of the same bits gets, and nothing outside the range changes.</summary>
    [TestCase(0.1, 0.1, 0)]
    [TestCase(0.03, 0.2, 37)]
    public void PackedBitsGetTheMatrixDraws(double p01, double p10, int offset)
    {
        var w = BitMatrix.Random(9, 128, new Random(7)); // whole words per row: the matrix words are the packed bits
        var packed = new ulong[w.Words.Length + 2];
        for (int i = 0; i < w.BitCount; i++)
            if (w[i / 128, i % 128]) packed[(offset + i) >> 6] |= 1UL << ((offset + i) & 63);
        var errors = new UniformBitErrors(p01, p10);
        long byPacked = errors.Inject(packed, offset, w.BitCount, new Random(8));
        long byMatrix = errors.Inject(w, 0, new Random(8));
        Assert.That(byPacked, Is.EqualTo(byMatrix));
        Assert.That(byMatrix, Is.GreaterThan(0));
        for (int i = 0; i < packed.Length * 64; i++)
        {
            bool bit = (packed[i >> 6] >> (i & 63) & 1) != 0;
            bool expected = i >= offset && i < offset + w.BitCount && w[(i - offset) / 128, (i - offset) % 128];
            Assert.That(bit, Is.EqualTo(expected), $"packed bit {i}");
        }
        Assert.That(() => errors.Inject(packed, offset: 64, bits: packed.Length * 64 - 63, new Random(1)), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => errors.Inject(packed, offset: -1, bits: 1, new Random(1)), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void RateZeroFlipsNothingAndRateOneFlipsEverything()
    {
        var w = BitMatrix.Random(7, 65, new Random(5));
        var before = w.Clone();
        Assert.That(new UniformBitErrors(0).Inject(w, 0, new Random(6)), Is.Zero);
        Assert.That(w, Is.EqualTo(before));
        Assert.That(new UniformBitErrors(1).Inject(w, 0, new Random(6)), Is.EqualTo(7 * 65));
        for (int r = 0; r < 7; r++)
            for (int c = 0; c < 65; c++) Assert.That(w[r, c], Is.Not.EqualTo(before[r, c]));
        Assert.That(w.PaddingIsZero(), Is.True);
    }

    [TestCase(-0.1)]
    [TestCase(1.5)]
    [TestCase(double.NaN)]
    public void RatesOutsideZeroToOneAreRefused(double p) =>
        Assert.That(() => new UniformBitErrors(p), Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("between 0 and 1"));

    [Test]
    public void SameSeedAndTrialGiveTheSamePattern()
    {
        var model = ModelBuilder.FromSpec("dense64,dense10", TensorShape.Vector(100), new Random(7));
        var source = new UniformBitErrors(0.01);
        var (a, fa) = ErrorInjection.Corrupt(model, source, ErrorInjection.TrialRandom(1, 3));
        var (b, fb) = ErrorInjection.Corrupt(model, source, ErrorInjection.TrialRandom(1, 3));
        var (c, _) = ErrorInjection.Corrupt(model, source, ErrorInjection.TrialRandom(1, 4));
        Assert.That(fa, Is.EqualTo(fb));
        Assert.That(a.Blocks[0].Linear.Weights, Is.EqualTo(b.Blocks[0].Linear.Weights));
        Assert.That(a.Blocks[0].Linear.Weights, Is.Not.EqualTo(c.Blocks[0].Linear.Weights));
        Assert.That(model.Blocks[0].Linear.Weights, Is.Not.EqualTo(a.Blocks[0].Linear.Weights), "the original model is left untouched");
    }

    private static long CountDifferences(BitMatrix a, BitMatrix b)
    {
        long d = 0;
        for (int i = 0; i < a.Words.Length; i++) d += System.Numerics.BitOperations.PopCount(a.Words[i] ^ b.Words[i]);
        return d;
    }
}
