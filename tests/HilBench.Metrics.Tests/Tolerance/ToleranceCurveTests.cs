using HilBench.Metrics.Tolerance;

namespace HilBench.Metrics.Tests.Tolerance;

public class ToleranceCurveTests
{
    private static TolerancePoint Point(double ber, double mean) => new(ber.ToString(System.Globalization.CultureInfo.InvariantCulture), ber, mean, mean, mean, [mean], 0, null);

    [Test]
    public void Normalized_auc_is_the_trapezoid_area_over_clean_times_span()
    {
        // (0.1 * (0.9 + 0.8) / 2 + 0.1 * (0.8 + 0.5) / 2) / (0.9 * 0.2) = (0.085 + 0.065) / 0.18 = 0.8333...
        var curve = new ToleranceCurve(0.9, [Point(0, 0.9), Point(0.1, 0.8), Point(0.2, 0.5)]);
        Assert.That(curve.NormalizedAuc, Is.EqualTo(0.15 / 0.18).Within(1e-12));
    }

    [Test]
    public void Normalized_auc_is_one_for_a_flat_curve_and_ignores_the_order_points_came_in()
    {
        var flat = new ToleranceCurve(0.8, [Point(0.2, 0.8), Point(0.01, 0.8), Point(0.05, 0.8)]);
        Assert.That(flat.NormalizedAuc, Is.EqualTo(1).Within(1e-12));

        // Over [0.01, 0.2] only: (0.04 * (0.8 + 0.6) / 2 + 0.15 * (0.6 + 0.2) / 2) / (0.8 * 0.19).
        var shuffled = new ToleranceCurve(0.8, [Point(0.2, 0.2), Point(0.01, 0.8), Point(0.05, 0.6)]);
        Assert.That(shuffled.NormalizedAuc, Is.EqualTo((0.04 * 0.7 + 0.15 * 0.4) / (0.8 * 0.19)).Within(1e-12));
    }

    [Test]
    public void Normalized_auc_is_NaN_without_a_span()
    {
        Assert.That(new ToleranceCurve(0.9, [Point(0.1, 0.8)]).NormalizedAuc, Is.NaN);
        Assert.That(new ToleranceCurve(0.9, []).NormalizedAuc, Is.NaN);
    }

    [Test]
    public void Max_ber_within_one_point_stops_at_the_first_larger_drop()
    {
        // clean 0.9: 0.895 at 1% is within, 0.885 at 5% is not; 0.9 at 10% recovers but comes after the first drop.
        var curve = new ToleranceCurve(0.9, [Point(0, 0.9), Point(0.01, 0.895), Point(0.05, 0.885), Point(0.1, 0.9)]);
        Assert.That(curve.MaxBerWithinOnePoint, Is.EqualTo(0.01));
    }

    [Test]
    public void A_drop_of_exactly_one_point_is_within()
    {
        // 0.881 - 0.871 is not exactly 0.01 in binary; the rule must still count it as within.
        var curve = new ToleranceCurve(0.881, [Point(0.01, 0.871), Point(0.02, 0.8709)]);
        Assert.That(curve.MaxBerWithinOnePoint, Is.EqualTo(0.01));
    }

    [Test]
    public void Max_ber_is_zero_when_the_first_point_already_drops_and_the_last_ber_when_none_does()
    {
        Assert.That(new ToleranceCurve(0.9, [Point(0.01, 0.85), Point(0.05, 0.9)]).MaxBerWithinOnePoint, Is.EqualTo(0));
        Assert.That(new ToleranceCurve(0.9, [Point(0.1, 0.895), Point(0.01, 0.9), Point(0.05, 0.899)]).MaxBerWithinOnePoint, Is.EqualTo(0.1));
    }
}
