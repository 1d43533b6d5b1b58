using HilBench.Metrics.Predictions;
using HilBench.Metrics.Tests.Support;

namespace HilBench.Metrics.Tests.Predictions;

public class PmfTests
{
    [TestCase(0, 0.3)]
    [TestCase(7, 0.0)]
    [TestCase(7, 1.0)]
    [TestCase(10, 0.25)]
    [TestCase(2048, 0.01)]
    [TestCase(1000, 0.5)]
    public void Binomial_matches_mathnet_and_is_truncated_below_1e_15(int n, double p)
    {
        var pmf = Pmf.Binomial(n, p);
        double total = 0;
        for (int k = 0; k <= n; k++)
        {
            double expected = MathNet.Numerics.Distributions.Binomial.PMF(p, n, k);
            if (expected >= 1e-15) Assert.That(pmf[k], Is.EqualTo(expected).Within(1e-12 * Math.Max(expected, 1e-3)), $"k = {k}");
            else Assert.That(pmf[k], Is.EqualTo(0).Or.EqualTo(expected).Within(1e-15), $"k = {k}");
            total += pmf[k];
        }
        Assert.That(total, Is.EqualTo(1).Within(n * 1e-15 + 1e-12));
    }

    [Test]
    public void One_agreeing_and_one_disagreeing_term()
    {
        // D = Y - X with X, Y ~ Bernoulli(p): P(-1) = P(+1) = p(1-p), P(0) = p^2 + (1-p)^2.
        const double p = 0.2;
        var d = Pmf.FlipChange(agreeing: 1, disagreeing: 1, p);
        Assert.That(d[-1], Is.EqualTo(0.16).Within(1e-15));
        Assert.That(d[0], Is.EqualTo(0.68).Within(1e-15));
        Assert.That(d[1], Is.EqualTo(0.16).Within(1e-15));
        Assert.That(d[2], Is.EqualTo(0));
        Assert.That(d.AtLeast(0), Is.EqualTo(0.84).Within(1e-15));
        Assert.That(d.AtMost(-1), Is.EqualTo(0.16).Within(1e-15));
        Assert.That(d.AtMost(5), Is.EqualTo(1).Within(1e-15));
        Assert.That(d.AtLeast(-5), Is.EqualTo(1).Within(1e-15));
        Assert.That(d.AtLeast(2), Is.EqualTo(0));
        Assert.That(d.AtMost(-2), Is.EqualTo(0));
    }

    [TestCase(0, 0, 0.1)]
    [TestCase(3, 0, 0.1)]
    [TestCase(0, 4, 0.3)]
    [TestCase(3, 5, 0.05)]
    [TestCase(6, 4, 0.5)]
    [TestCase(9, 1, 0.2)]
    public void Difference_table_equals_brute_force_enumeration(int agreeing, int disagreeing, double p)
    {
        int n = agreeing + disagreeing;
        var expected = new Dictionary<int, double>();
        for (int mask = 0; mask < 1 << n; mask++)
        {
            int flips = System.Numerics.BitOperations.PopCount((uint)mask);
            double prob = Math.Pow(p, flips) * Math.Pow(1 - p, n - flips);
            int d = 0;
            for (int i = 0; i < n; i++)
                if ((mask >> i & 1) != 0) d += i < agreeing ? -1 : 1; // an agreeing term that flips takes 2 off a
            expected[d] = expected.GetValueOrDefault(d) + prob;
        }
        var table = Pmf.FlipChange(agreeing, disagreeing, p);
        for (int d = -n - 1; d <= n + 1; d++)
            Assert.That(table[d], Is.EqualTo(expected.GetValueOrDefault(d)).Within(1e-14), $"D = {d}");
    }

    [Test]
    public void Hand_checked_flip_probabilities_with_the_tie_rule()
    {
        // n = 4 terms, 3 agreeing and 1 disagreeing: a = 2. X ~ Bin(3, 0.1), Y ~ Bin(1, 0.1).
        var d = Pmf.FlipChange(3, 1, 0.1);
        // Ascending, tau = 2: a = tau outputs +1 (a >= tau) and flips iff a + 2D < 2, i.e. D <= -1, i.e. X > Y:
        // P(X >= 1)(1 - 0.1) + P(X >= 2) 0.1 = 0.271 * 0.9 + 0.028 * 0.1 = 0.2467.
        Assert.That(d.Probability(FlipCondition.Of(2, 2, ascending: true)), Is.EqualTo(0.2467).Within(1e-12));
        // Descending, tau = 2: a = tau outputs +1 (a <= tau) and flips iff a + 2D > 2, i.e. D >= 1: Y = 1, X = 0: 0.1 * 0.729.
        Assert.That(d.Probability(FlipCondition.Of(2, 2, ascending: false)), Is.EqualTo(0.0729).Within(1e-12));
        // Ascending, tau = 3: a = 2 outputs -1 and flips iff a + 2D >= 3, i.e. D >= 1: again 0.0729.
        Assert.That(d.Probability(FlipCondition.Of(2, 3, ascending: true)), Is.EqualTo(0.0729).Within(1e-12));
        // Ascending, tau = 1: a = 2 outputs +1 and flips iff a + 2D < 1, i.e. D <= -1: 0.2467 as at the tie.
        Assert.That(d.Probability(FlipCondition.Of(2, 1, ascending: true)), Is.EqualTo(0.2467).Within(1e-12));
    }

    [Test]
    public void Flip_condition_agrees_with_the_threshold_rule_everywhere()
    {
        foreach (bool ascending in new[] { true, false })
            for (int a = -9; a <= 9; a++)
                for (int tau = -10; tau <= 10; tau++)
                {
                    bool Out(long v) => ascending ? v >= tau : v <= tau;
                    var c = FlipCondition.Of(a, tau, ascending);
                    for (int d = -12; d <= 12; d++)
                        Assert.That(c.Holds(d), Is.EqualTo(Out(a + 2 * d) != Out(a)), $"a {a} tau {tau} asc {ascending} D {d}");
                }
    }

    [Test]
    public void Flip_condition_handles_constant_neurons()
    {
        // FromBatchNorm folds gamma = 0 into tau = int.MinValue (always +1) or int.MaxValue (never): nothing can flip them.
        var always = FlipCondition.Of(0, int.MinValue, ascending: true);
        var never = FlipCondition.Of(0, int.MaxValue, ascending: true);
        Assert.That(always.Holds(-100000), Is.False);
        Assert.That(never.Holds(100000), Is.False);
        Assert.That(Pmf.FlipChange(500, 500, 0.5).Probability(always), Is.EqualTo(0));
    }

    [Test]
    public void Normal_probability_uses_the_continuity_correction()
    {
        // D >= 1 with D ~ N(0, 1): P(N > 0.5) = 0.30853754.
        Assert.That(new FlipCondition(true, 1).NormalProbability(0, 1), Is.EqualTo(0.3085375387259869).Within(1e-12));
        // D <= -2 with D ~ N(0, 2^2): P(N < -1.5 / 2).
        Assert.That(new FlipCondition(false, -2).NormalProbability(0, 2), Is.EqualTo(0.2266273523768682).Within(1e-12));
        // Zero spread: D is its mean.
        Assert.That(new FlipCondition(true, 1).NormalProbability(0, 0), Is.EqualTo(0));
        Assert.That(new FlipCondition(true, -3).NormalProbability(-3, 0), Is.EqualTo(1));
    }
}
