using HilBench.Metrics.Margins;

namespace HilBench.Metrics.Tests.Margins;

[TestFixture]
public class IntegerDistributionTests
{
    [Test]
    public void QuantilesInterpolateLikeType7()
    {
        var d = new IntegerDistribution(10);
        foreach (long v in new long[] { 7, 1, 3, 3, 10 }) d.Add(v);
        // Sorted 1 3 3 7 10: h = 4q.
        Assert.That(d.Quantile(0), Is.EqualTo(1));
        Assert.That(d.Quantile(0.5), Is.EqualTo(3));
        Assert.That(d.Quantile(0.05), Is.EqualTo(1 + 0.2 * 2).Within(1e-12));
        Assert.That(d.Quantile(0.875), Is.EqualTo(7 + 0.5 * 3).Within(1e-12));
        Assert.That(d.Quantile(1), Is.EqualTo(10));
        Assert.That(d.Mean, Is.EqualTo(24.0 / 5));
        Assert.That(new IntegerDistribution(3).Quantile(0.5), Is.NaN);
    }

    [Test]
    public void ValuesBeyondTheDenseRangeStayExact()
    {
        var d = new IntegerDistribution(4);
        d.Add(2, times: 3);
        d.Add(3_000_000_000L);
        d.Add(10_000_000);
        Assert.That(d.Count, Is.EqualTo(5));
        Assert.That(d.Max, Is.EqualTo(3_000_000_000L));
        Assert.That(d.ValueAtRank(3), Is.EqualTo(10_000_000));
        Assert.That(d.Quantile(1), Is.EqualTo(3e9));
        var (edges, counts) = d.Histogram(3, 1);
        Assert.That(edges, Is.EqualTo(new[] { 0, 1e9, 2e9, 3e9 }));
        Assert.That(counts, Is.EqualTo(new long[] { 4, 0, 1 }));
    }

    [Test]
    public void AllZeroHistogramSpansOneStep()
    {
        var d = new IntegerDistribution(0);
        d.Add(0, times: 4);
        var (edges, counts) = d.Histogram(2, 4);
        Assert.That(edges, Is.EqualTo(new[] { 0, 0.125, 0.25 }));
        Assert.That(counts, Is.EqualTo(new long[] { 4, 0 }));
    }
}
