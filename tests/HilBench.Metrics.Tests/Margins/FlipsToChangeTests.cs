using HilBench.Metrics.Margins;

namespace HilBench.Metrics.Tests.Margins;

/// <summary>The exact flip counts, by hand and against brute force over every subset of weights.</summary>
[TestFixture]
public class FlipsToChangeTests
{
    private const int Unreachable = NeuronLevelMetric.Unreachable;

    // +-1 inputs: a moves by 2 per flip; agreeing terms (a+n)/2 can lower it, disagreeing ones (n-a)/2 raise it.
    [TestCase(0, 0, true, 4, 1, TestName = "ascending tie a == T is on; one flip to a = -2 turns it off")]
    [TestCase(2, 0, true, 4, 2, TestName = "ascending on, needs a <= -1: two flips")]
    [TestCase(0, 1, true, 4, 1, TestName = "ascending off, needs a >= 1: one flip to 2")]
    [TestCase(-4, 4, true, 4, 4, TestName = "ascending off, needs all four disagreeing terms")]
    [TestCase(4, 5, true, 4, Unreachable, TestName = "ascending threshold above the reach of a")]
    [TestCase(-4, -4, true, 4, Unreachable, TestName = "ascending always on: no agreeing term to lower a")]
    [TestCase(4, 4, true, 4, 1, TestName = "ascending tie at the top: one flip to 2")]
    [TestCase(0, 0, false, 4, 1, TestName = "descending tie a == T is on; one flip to 2 turns it off")]
    [TestCase(2, 0, false, 4, 1, TestName = "descending off, needs a <= 0: one flip")]
    [TestCase(-2, 0, false, 4, 2, TestName = "descending on, needs a >= 1: two flips")]
    [TestCase(3, 3, false, 3, Unreachable, TestName = "descending on at the top: cannot rise further")]
    [TestCase(-3, -4, false, 3, Unreachable, TestName = "descending off below the reach of a")]
    [TestCase(1, -2, false, 3, 2, TestName = "descending off, needs a <= -2: both agreeing terms")]
    public void BinaryInputsByHand(int a, int threshold, bool ascending, int terms, int expected) =>
        Assert.That(NeuronLevelMetric.FlipsToChange(a, threshold, ascending, terms), Is.EqualTo(expected));

    [Test]
    public void BinaryInputsRefuseImpossiblePreActivations()
    {
        Assert.That(() => NeuronLevelMetric.FlipsToChange(5, 0, true, 4), Throws.ArgumentException);
        Assert.That(() => NeuronLevelMetric.FlipsToChange(1, 0, true, 4), Throws.ArgumentException, "parity");
    }

    [Test]
    public void PixelContributionsByHand()
    {
        // Pixels 10, 0, 200, 50 under weights +, +, -, +: contributions 10, 0, -200, 50, a = -140.
        int[] c = [10, 0, -200, 50];
        Assert.That(NeuronLevelMetric.FlipsToChange(c, -140, true), Is.EqualTo(1), "tie is on; flipping the 50 lowers a by 100");
        Assert.That(NeuronLevelMetric.FlipsToChange(c, -139, true), Is.EqualTo(1), "off; flipping the -200 raises a by 400");
        Assert.That(NeuronLevelMetric.FlipsToChange(c, 300, true), Is.EqualTo(Unreachable), "needs +440, only +400 available");
        Assert.That(NeuronLevelMetric.FlipsToChange(c, -250, true), Is.EqualTo(2), "needs -111: the 50 (-100) and the 10 (-20)");
        Assert.That(NeuronLevelMetric.FlipsToChange(c, -261, true), Is.EqualTo(Unreachable), "needs -122, only -120 available");
        Assert.That(NeuronLevelMetric.FlipsToChange(c, -140, false), Is.EqualTo(1), "descending tie is on; needs a >= -139");
        Assert.That(NeuronLevelMetric.FlipsToChange(c, -141, false), Is.EqualTo(1), "descending off; needs a <= -141");
        Assert.That(NeuronLevelMetric.FlipsToChange(c, -259, false), Is.EqualTo(2), "descending off; needs a <= -259, -119: the 50 and the 10");
        Assert.That(NeuronLevelMetric.FlipsToChange(c, -261, false), Is.EqualTo(Unreachable), "descending off; needs -121, only -120 available");
    }

    /// <summary>The fewest flips over every subset of terms, straight from the definition.</summary>
    private static int BruteForce(int[] c, int threshold, bool ascending)
    {
        long a = c.Sum(v => (long)v);
        bool On(long x) => ascending ? x >= threshold : x <= threshold;
        int best = Unreachable;
        for (int subset = 1; subset < 1 << c.Length; subset++)
        {
            long moved = a;
            for (int i = 0; i < c.Length; i++)
                if ((subset >> i & 1) != 0) moved -= 2L * c[i];
            if (On(moved) != On(a)) best = Math.Min(best, System.Numerics.BitOperations.PopCount((uint)subset));
        }
        return best;
    }

    [Test]
    public void PixelContributionsMatchBruteForce()
    {
        var r = new Random(41);
        for (int trial = 0; trial < 3000; trial++)
        {
            int n = r.Next(1, 11);
            var c = new int[n];
            for (int i = 0; i < n; i++) c[i] = (r.Next(2) == 0 ? 1 : -1) * (r.Next(4) == 0 ? 0 : r.Next(256));
            long a = c.Sum();
            int threshold = (int)a + r.Next(-600, 601);
            if (r.Next(5) == 0) threshold = (int)a + r.Next(-2, 3); // ties and near-ties often
            bool ascending = r.Next(2) == 0;
            Assert.That(NeuronLevelMetric.FlipsToChange(c, threshold, ascending), Is.EqualTo(BruteForce(c, threshold, ascending)),
                $"contributions [{string.Join(", ", c)}], T = {threshold}, ascending {ascending}");
        }
    }

    [Test]
    public void BinaryInputsMatchBruteForce()
    {
        var r = new Random(43);
        for (int trial = 0; trial < 3000; trial++)
        {
            int n = r.Next(0, 13);
            var c = new int[n];
            for (int i = 0; i < n; i++) c[i] = r.Next(2) == 0 ? 1 : -1;
            int a = c.Sum();
            int threshold = a + r.Next(-n - 3, n + 4);
            bool ascending = r.Next(2) == 0;
            int expected = BruteForce(c, threshold, ascending);
            Assert.That(NeuronLevelMetric.FlipsToChange(a, threshold, ascending, n), Is.EqualTo(expected),
                $"a = {a} of {n} terms, T = {threshold}, ascending {ascending}");
            Assert.That(NeuronLevelMetric.FlipsToChange(c, threshold, ascending), Is.EqualTo(expected), "the general greedy agrees");
        }
    }
}
