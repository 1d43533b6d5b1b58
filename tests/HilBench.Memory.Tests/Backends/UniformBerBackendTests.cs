using HilBench.Bnn.Errors;
using HilBench.Memory.Backends;
using HilBench.Memory.Images;
using HilBench.Memory.Tests.Support;

namespace HilBench.Memory.Tests.Backends;

[TestFixture]
public class UniformBerBackendTests
{
    private static readonly LoadRequest AnyPoint = new(new OperatingPoint(1.0));

    /// <summary>The real MLP's 5,820,416 weight bits (about half ones).</summary>
    private static WeightImage MlpImage() => WeightImage.FromModel(Repo.Mlp);

    /// <summary>
    /// Each bit flips independently with probability p, so the flips of T trials over n bits are binomial(T n, p).
    /// At p = 1e-5 one trial expects only 58 flips, so 20 trials are pooled (n p = 1,164).
    /// </summary>
    [TestCase(1e-5, 20)]
    [TestCase(1e-3, 1)]
    [TestCase(1e-1, 1)]
    public void FlipFractionMatchesTheRate(double p, int trials)
    {
        var image = MlpImage();
        using var backend = new UniformBerBackend(p, seed: 1);
        backend.Store(image);
        long flips = 0;
        for (int t = 0; t < trials; t++) flips += backend.Load(AnyPoint with { Trial = t }).Faults.Count;
        Binomial.AssertWithinFourSigma(flips, (double)trials * image.BitCount, p, $"uniform BER {p:G2}, flips over {trials} trial(s)");
    }

    [Test]
    public void AsymmetricRatesApplyPerStoredValue()
    {
        const double p01 = 0.02, p10 = 0.002;
        var image = MlpImage();
        using var backend = new UniformBerBackend(new UniformBitErrors(p01, p10), seed: 2);
        backend.Store(image);
        var readout = backend.Load(AnyPoint);
        long ones = TestImages.Ones(image), zeros = image.BitCount - ones;
        long zeroToOne = readout.Faults.Count(f => !f.Stored), oneToZero = readout.Faults.Count(f => f.Stored);
        Binomial.AssertWithinFourSigma(zeroToOne, zeros, p01, "0->1 flips over stored zeros");
        Binomial.AssertWithinFourSigma(oneToZero, ones, p10, "1->0 flips over stored ones");
    }

    /// <summary>Monte-Carlo flips patterns straight into an image; they must be the backend's patterns, bit for bit.</summary>
    [TestCase(0.05, 0.05)]
    [TestCase(0.02, 0.3)]
    public void InjectingIntoAnImageDrawsTheBackendsPattern(double p01, double p10)
    {
        var image = WeightImage.FromModel(TestImages.SmallConv(), includeThresholds: true);
        var errors = new UniformBitErrors(p01, p10);
        using var backend = new UniformBerBackend(errors, seed: 9);
        backend.Store(image);
        for (int trial = 0; trial < 3; trial++)
        {
            var readout = backend.Load(AnyPoint with { Trial = trial });
            var direct = image.Clone();
            long flipped = direct.Inject(errors, ErrorInjection.TrialRandom(9, trial));
            Assert.That(direct.ContentEquals(readout.Image), Is.True, $"trial {trial}");
            Assert.That(flipped, Is.EqualTo(readout.Faults.Count));
            Assert.That(flipped, Is.GreaterThan(0));
        }
    }

    [Test]
    public void FaultsAreExactlyTheImageDifference()
    {
        var image = WeightImage.FromModel(TestImages.SmallConv(), includeThresholds: true);
        using var backend = new UniformBerBackend(0.01, seed: 3);
        backend.Store(image);
        var readout = backend.Load(AnyPoint with { Trial = 4 });
        Assert.That(readout.Faults, Is.Not.Empty);
        Assert.That(readout.Faults.Select(f => f.ImageBit), Is.Ordered.Ascending.And.Unique);
        Assert.That(readout.Image.Distance(image), Is.EqualTo(readout.Faults.Count));
        var faultBits = readout.Faults.Select(f => f.ImageBit).ToHashSet();
        for (long bit = 0; bit < image.BitCount; bit++)
            if ((readout.Image[bit] != image[bit]) != faultBits.Contains(bit)) Assert.Fail($"image bit {bit}: fault list and image disagree");
        foreach (var f in readout.Faults)
        {
            Assert.That(f.Stored, Is.EqualTo(image[f.ImageBit]));
            Assert.That(f.Read, Is.EqualTo(readout.Image[f.ImageBit]).And.Not.EqualTo(f.Stored));
        }
        Assert.That(readout.BitErrorRate, Is.EqualTo((double)readout.Faults.Count / image.BitCount));
        Assert.That(readout.Request.Trial, Is.EqualTo(4));
    }

    [Test]
    public void SameSeedAndTrialGiveTheSameFaults()
    {
        var image = WeightImage.FromModel(TestImages.SmallMlp(), includeThresholds: true);
        using var a = new UniformBerBackend(0.01, seed: 9);
        using var b = new UniformBerBackend(0.01, seed: 9);
        using var c = new UniformBerBackend(0.01, seed: 10);
        a.Store(image);
        b.Store(image);
        c.Store(image);
        var first = a.Load(AnyPoint with { Trial = 2 }).Faults;
        Assert.That(first, Is.Not.Empty);
        Assert.That(b.Load(AnyPoint with { Trial = 2 }).Faults, Is.EqualTo(first), "another instance, same seed and trial");
        Assert.That(a.Load(AnyPoint with { Trial = 2 }).Faults, Is.EqualTo(first), "the same instance again");
        Assert.That(a.Load(new LoadRequest(new OperatingPoint(0.5), 2)).Faults, Is.EqualTo(first), "the operating point is ignored");
        Assert.That(a.Load(AnyPoint with { Trial = 3 }).Faults, Is.Not.EqualTo(first), "another trial");
        Assert.That(c.Load(AnyPoint with { Trial = 2 }).Faults, Is.Not.EqualTo(first), "another seed");
    }

    /// <summary>Over the weights the backend draws exactly what ErrorInjection.Corrupt draws for (seed, trial), thresholds or not.</summary>
    [TestCase(1e-3, 1e-3, false)]
    [TestCase(1e-3, 1e-3, true)]
    [TestCase(0.05, 0.01, true)]
    public void WeightPatternsEqualErrorInjection(double p01, double p10, bool thresholds)
    {
        var model = TestImages.SmallConv(4);
        var mlp = Repo.Mlp;
        foreach (var m in new[] { model, mlp })
        {
            var errors = new UniformBitErrors(p01, p10);
            using var backend = new UniformBerBackend(errors, seed: 7);
            backend.Store(WeightImage.FromModel(m, thresholds));
            var readout = backend.Load(AnyPoint with { Trial = 3 });
            var corrupted = readout.Image.ToModel(m);
            var (expected, flipped) = ErrorInjection.Corrupt(m, errors, ErrorInjection.TrialRandom(7, 3));
            for (int b = 0; b < m.Blocks.Count; b++)
                Assert.That(corrupted.Blocks[b].Linear.Weights, Is.EqualTo(expected.Blocks[b].Linear.Weights), $"{m.Describe()} block {b}");
            long weightFaults = readout.Faults.Count(f => readout.Image.Layout.Locate(f.ImageBit).Region.Kind == RegionKind.Weights);
            Assert.That(weightFaults, Is.EqualTo(flipped));
        }
    }

    [Test]
    public void DescribesItself()
    {
        using var backend = new UniformBerBackend(new UniformBitErrors(0.01, 0.001), seed: 4);
        Assert.That(backend.Name, Does.Contain("0->1 0.01").And.Contain("1->0 0.001").And.Contain("seed 4"));
        Assert.That(backend.Traits.Persistent, Is.False);
        Assert.That(backend.Geometry, Is.Null);
    }
}
