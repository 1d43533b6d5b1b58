namespace HilBench.Metrics.Tolerance;

/// <summary>
/// Accuracy under weight errors at one point: a requested BER (uniform errors) or an operating point of a memory.
/// </summary>
/// <param name="Label">"0.05" for a BER, or the operating point's text (e.g. "V=0.55,T=25").</param>
/// <param name="Ber">The requested BER for uniform errors; for an operating point the measured mean BER (faults / image bits).</param>
/// <param name="Mean">Mean accuracy over the error patterns.</param>
/// <param name="Low">Lower end of the 95% Student-t interval of the mean, cut to [0, 1]; NaN with a single pattern.</param>
/// <param name="High">Upper end of that interval; NaN with a single pattern.</param>
/// <param name="Accuracies">Accuracy of every pattern, trial k at index k.</param>
/// <param name="FaultsMean">Mean number of wrong bits per pattern.</param>
/// <param name="EnergySaving">Mean saving of read energy against the nominal point, when the backend reports energy.</param>
public sealed record TolerancePoint(string Label, double Ber, double Mean, double Low, double High, double[] Accuracies, double FaultsMean,
    double? EnergySaving);

/// <summary>
/// Accuracy against BER, with the clean accuracy, and the two scalar tolerance summaries of the study. The points are read in
/// ascending BER order whatever order they were given in.
/// </summary>
public sealed record ToleranceCurve(double CleanAccuracy, IReadOnlyList<TolerancePoint> Points)
{
    /// <summary>Slack for "within one point": accuracies are ratios of counts, and clean - 0.01 is not exact in binary.</summary>
    internal const double Slack = 1e-9;

    /// <summary>
    /// Area under mean accuracy over BER by the trapezoid rule, over [first BER, last BER], divided by clean accuracy times
    /// (last BER - first BER): 1 for a model that keeps its clean accuracy everywhere, less as it loses it (it can exceed 1
    /// slightly when errors happen to help). NaN with fewer than two distinct BERs or a zero clean accuracy.
    /// </summary>
    public double NormalizedAuc
    {
        get
        {
            var sorted = Sorted();
            if (sorted.Length < 2 || CleanAccuracy <= 0) return double.NaN;
            double span = sorted[^1].Ber - sorted[0].Ber;
            if (!(span > 0)) return double.NaN;
            double area = 0;
            for (int i = 1; i < sorted.Length; i++)
                area += (sorted[i].Ber - sorted[i - 1].Ber) * (sorted[i].Mean + sorted[i - 1].Mean) / 2;
            return area / (CleanAccuracy * span);
        }
    }

    /// <summary>
    /// The largest BER whose mean accuracy stays within one point of the clean accuracy (mean &gt;= clean - 0.01, with 1e-9 of
    /// slack for rounding), scanning the points in ascending BER order and stopping at the first point that drops more: a later
    /// point that happens to recover does not count. 0 when already the first point drops more (BER 0 is trivially within).
    /// </summary>
    public double MaxBerWithinOnePoint
    {
        get
        {
            double best = 0;
            foreach (var p in Sorted())
            {
                if (!(p.Mean >= CleanAccuracy - 0.01 - Slack)) break;
                best = p.Ber;
            }
            return best;
        }
    }

    private TolerancePoint[] Sorted() => Points.OrderBy(p => p.Ber).ToArray();
}
