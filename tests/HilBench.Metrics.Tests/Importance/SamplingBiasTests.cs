using HilBench.Metrics.Importance;

namespace HilBench.Metrics.Tests.Importance;

/// <summary>
/// <see cref="LayerImportance.SamplingBias"/> on synthetic drop tables whose true importances are known: over many
/// seeded evaluation sets, the corrected variance must average to the true variance across neurons, where the raw
/// variance is inflated by the sampling noise.
/// </summary>
[TestFixture]
public class SamplingBiasTests
{
    private const int Neurons = 40, Images = 400, Sets = 300;

    /// <summary>Raw and corrected variance for one evaluation set of 0/1 drops, neuron j dropping with probability q[j].</summary>
    private static (double Raw, double Corrected) OneSet(Random rng, double[] q, double shared = 0)
    {
        var sums = new double[Neurons];
        var perImage = new double[Images];
        for (int x = 0; x < Images; x++)
        {
            bool common = rng.NextDouble() < shared;
            for (int j = 0; j < Neurons; j++)
            {
                int d = common || rng.NextDouble() < q[j] ? 1 : 0;
                sums[j] += d;
                perImage[x] += d / (double)Neurons;
            }
        }
        var means = sums.Select(s => s / Images).ToArray();
        // D is 0 or 1, so D squared is D.
        double bias = LayerImportance.SamplingBias(means, means, perImage);
        double raw = LayerImportance.PopulationVariance(means);
        return (raw, raw - bias);
    }

    private static (double RawMean, double CorrectedMean, double CorrectedSe) Average(int seed, double[] q, double shared = 0)
    {
        var rng = new Random(seed);
        var sets = Enumerable.Range(0, Sets).Select(_ => OneSet(rng, q, shared)).ToArray();
        double corrected = sets.Average(s => s.Corrected);
        double sd = Math.Sqrt(sets.Sum(s => (s.Corrected - corrected) * (s.Corrected - corrected)) / (Sets - 1));
        return (sets.Average(s => s.Raw), corrected, sd / Math.Sqrt(Sets));
    }

    [Test]
    public void EqualNeuronsHaveNoVarianceOnceTheNoiseIsTakenOut()
    {
        var q = Enumerable.Repeat(0.1, Neurons).ToArray();
        var (raw, corrected, se) = Average(1, q);
        double noise = (1 - 1.0 / Neurons) * 0.1 * 0.9 / Images;
        Assert.That(raw, Is.EqualTo(noise).Within(noise * 0.05), "the raw variance is all noise");
        Assert.That(corrected, Is.EqualTo(0).Within(4 * se));
        Assert.That(se, Is.LessThan(noise / 20), "the check is sharp enough to see the noise");
    }

    [Test]
    public void SpreadImportancesAreRecovered()
    {
        var q = Enumerable.Range(0, Neurons).Select(j => 0.2 * j / (Neurons - 1)).ToArray();
        double truth = LayerImportance.PopulationVariance(q);
        var (raw, corrected, se) = Average(2, q);
        Assert.That(corrected, Is.EqualTo(truth).Within(4 * se));
        Assert.That(raw - truth, Is.GreaterThan(8 * se), "the raw variance overstates the spread");
    }

    [Test]
    public void NoiseSharedByEveryNeuronIsNotSubtracted()
    {
        // Every neuron is scored on the same images. Drops that hit all neurons together on an image move every
        // importance alike and leave the spread unchanged, so they must not count as noise.
        var q = new double[Neurons];
        var rng = new Random(3);
        var (raw, corrected) = OneSet(rng, q, shared: 0.3);
        Assert.That(raw, Is.EqualTo(0).Within(1e-18));
        Assert.That(corrected, Is.EqualTo(0).Within(1e-15));
    }

    [Test]
    public void TooFewImagesGiveNaN()
    {
        Assert.That(LayerImportance.SamplingBias([0.5], [0.5], [0.5]), Is.NaN);
        Assert.That(LayerImportance.SamplingBias([], [], [0, 1]), Is.NaN);
    }
}
