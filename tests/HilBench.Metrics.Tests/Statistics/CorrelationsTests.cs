using HilBench.Metrics.Statistics;

namespace HilBench.Metrics.Tests.Statistics;

public class CorrelationsTests
{
    // x = 1..5, y = 2, 4, 5, 4, 5. Deviations dx = -2..2, dy = -2, 0, 1, 0, 1: sum dx dy = 6, sum dx^2 = 10, sum dy^2 = 6,
    // so r = 6 / sqrt(60). Ranks of y with ties averaged: 1, 2.5, 4.5, 2.5, 4.5; against 1..5 that gives 7 / sqrt(90).
    private static readonly double[] X = [1, 2, 3, 4, 5];
    private static readonly double[] Y = [2, 4, 5, 4, 5];

    [Test]
    public void Pearson_and_spearman_match_hand_computed_values()
    {
        var c = Correlations.Compute("NL", "AUC", X, Y);
        Assert.Multiple(() =>
        {
            Assert.That(c.Metric, Is.EqualTo("NL"));
            Assert.That(c.Tolerance, Is.EqualTo("AUC"));
            Assert.That(c.N, Is.EqualTo(5));
            Assert.That(c.Pearson, Is.EqualTo(6 / Math.Sqrt(60)).Within(1e-12));
            Assert.That(c.Spearman, Is.EqualTo(7 / Math.Sqrt(90)).Within(1e-12), "ties must get average ranks");
        });
    }

    [Test]
    public void Intervals_use_the_fisher_z_transform()
    {
        var c = Correlations.Compute("m", "t", X, Y);
        const double z975 = 1.959963984540054;
        double r = 6 / Math.Sqrt(60), rho = 7 / Math.Sqrt(90);
        double half = z975 / Math.Sqrt(2); // n - 3 = 2
        double rhoHalf = z975 * Math.Sqrt((1 + rho * rho / 2) / 2);
        Assert.Multiple(() =>
        {
            Assert.That(c.PearsonLow, Is.EqualTo(Math.Tanh(Math.Atanh(r) - half)).Within(1e-12));
            Assert.That(c.PearsonHigh, Is.EqualTo(Math.Tanh(Math.Atanh(r) + half)).Within(1e-12));
            Assert.That(c.PearsonLow, Is.EqualTo(-0.340082035).Within(1e-8));
            Assert.That(c.PearsonHigh, Is.EqualTo(0.984235755).Within(1e-8));
            Assert.That(c.SpearmanLow, Is.EqualTo(Math.Tanh(Math.Atanh(rho) - rhoHalf)).Within(1e-12));
            Assert.That(c.SpearmanHigh, Is.EqualTo(Math.Tanh(Math.Atanh(rho) + rhoHalf)).Within(1e-12));
            Assert.That(c.SpearmanLow, Is.EqualTo(-0.549331992).Within(1e-8));
            Assert.That(c.SpearmanHigh, Is.EqualTo(0.986850892).Within(1e-8));
        });
    }

    [Test]
    public void Spearman_of_a_monotone_but_nonlinear_relation_is_one()
    {
        double[] x = [0.1, 0.5, 0.2, 0.9, 0.7, 0.3];
        var y = x.Select(v => Math.Exp(10 * v)).ToArray();
        var c = Correlations.Compute("m", "t", x, y);
        Assert.That(c.Spearman, Is.EqualTo(1).Within(1e-12));
        Assert.That(c.Pearson, Is.LessThan(0.95));
        Assert.That(c.SpearmanLow, Is.NaN, "no interval: the Fisher interval of a perfect correlation is the point [1, 1]");
        Assert.That(c.SpearmanHigh, Is.NaN);
        Assert.That(c.PearsonLow, Is.Not.NaN, "Pearson is below 1 and keeps its interval");
        Assert.That(c.SpearmanP, Is.EqualTo(2.0 / 720), "two of the 6! orderings are as extreme");
    }

    [Test]
    public void A_perfect_order_of_five_models_happens_by_chance_once_in_sixty()
    {
        var c = Correlations.Compute("m", "t", [1, 2, 3, 4, 5], [0.5, 0.6, 0.7, 0.8, 0.9]);
        Assert.That(c.Spearman, Is.EqualTo(1));
        Assert.That(c.SpearmanP, Is.EqualTo(2.0 / 120));
        Assert.That(c.PearsonLow, Is.NaN, "r = 1 as well: no interval");
        Assert.That(Correlations.Compute("m", "t", [1, 2, 3, 4, 5], [5, 4, 3, 2, 1]).SpearmanP, Is.EqualTo(2.0 / 120), "two-sided");
    }

    [Test]
    public void Spearman_p_value_with_ties_counts_every_ordering()
    {
        // Enumerated by hand (a script over the 120 orderings of the averaged ranks 1, 2.5, 4.5, 2.5, 4.5): 24 reach |rho| >= 7/sqrt(90).
        Assert.That(Correlations.Compute("m", "t", X, Y).SpearmanP, Is.EqualTo(24.0 / 120).Within(1e-15));
    }

    [Test]
    public void Spearman_p_value_beyond_nine_models_uses_the_t_approximation()
    {
        // n = 12, sum of squared rank differences 144: rho = 1 - 6 * 144 / (12 * 143) = 0.4965, t = rho sqrt(10 / (1 - rho^2)) = 1.809,
        // two-sided p from Student's t with 10 degrees of freedom (regularised incomplete beta at 30 digits).
        double[] x = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
        double[] y = [2, 7, 1, 3, 6, 9, 12, 5, 11, 10, 4, 8];
        var c = Correlations.Compute("m", "t", x, y);
        Assert.That(c.Spearman, Is.EqualTo(0.4965034965034965).Within(1e-12));
        Assert.That(c.SpearmanP, Is.EqualTo(0.10060263183225489).Within(1e-9));
    }

    [Test]
    public void Spearman_p_value_is_NaN_for_a_constant_side() =>
        Assert.That(Correlations.Compute("m", "t", [1, 2, 3, 4], [2, 2, 2, 2]).SpearmanP, Is.NaN);

    [Test]
    public void Negative_correlation_keeps_its_sign_and_the_interval_brackets_it()
    {
        double[] x = [1, 2, 3, 4, 5, 6, 7, 8];
        double[] y = [9, 7, 8, 5, 4, 4, 2, 1];
        var c = Correlations.Compute("m", "t", x, y);
        Assert.That(c.Pearson, Is.LessThan(-0.9));
        Assert.That(c.PearsonLow, Is.LessThan(c.Pearson));
        Assert.That(c.PearsonHigh, Is.GreaterThan(c.Pearson).And.LessThan(0));
        Assert.That(c.SpearmanLow, Is.LessThan(c.Spearman));
        Assert.That(c.SpearmanHigh, Is.GreaterThan(c.Spearman));
    }

    [TestCase(2)]
    [TestCase(3)]
    public void Intervals_are_NaN_with_three_or_fewer_models(int n)
    {
        var x = System.Linq.Enumerable.Range(0, n).Select(i => (double)i).ToArray();
        var y = x.Select(v => v * v + 1).ToArray();
        var c = Correlations.Compute("m", "t", x, y);
        Assert.That(c.Pearson, Is.Not.NaN);
        Assert.That(new[] { c.PearsonLow, c.PearsonHigh, c.SpearmanLow, c.SpearmanHigh }, Is.All.NaN);
    }

    [Test]
    public void A_constant_side_gives_NaN_not_an_exception()
    {
        var c = Correlations.Compute("m", "t", [1, 2, 3, 4, 5], [2, 2, 2, 2, 2]);
        Assert.That(c.Pearson, Is.NaN);
        Assert.That(c.PearsonLow, Is.NaN);
    }

    [Test]
    public void Unequal_lengths_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => Correlations.Compute("m", "t", [1, 2, 3], [1, 2]));
    }

    [Test]
    public void Mean_interval_is_student_t()
    {
        // mean 0.9, s = 0.1, t(0.975, 2) = 4.302652729749464: half width 4.3027 * 0.1 / sqrt(3) = 0.248414.
        var (mean, low, high) = Correlations.MeanInterval([0.8, 0.9, 1.0]);
        double half = 4.302652729749464 * 0.1 / Math.Sqrt(3);
        Assert.That(mean, Is.EqualTo(0.9).Within(1e-12));
        Assert.That(low, Is.EqualTo(0.9 - half).Within(1e-9));
        Assert.That(high, Is.EqualTo(1), "0.9 + 0.248 is cut to [0, 1]");

        var (_, lowMid, highMid) = Correlations.MeanInterval([0.4, 0.5, 0.6]);
        Assert.That(lowMid, Is.EqualTo(0.5 - half).Within(1e-9));
        Assert.That(highMid, Is.EqualTo(0.5 + half).Within(1e-9));
    }

    [Test]
    public void Mean_interval_of_one_value_is_NaN_and_of_equal_values_is_a_point()
    {
        var (mean, low, high) = Correlations.MeanInterval([0.7]);
        Assert.That(mean, Is.EqualTo(0.7));
        Assert.That(low, Is.NaN);
        Assert.That(high, Is.NaN);

        var same = Correlations.MeanInterval([0.5, 0.5, 0.5, 0.5]);
        Assert.That(same, Is.EqualTo((0.5, 0.5, 0.5)));
    }
}
