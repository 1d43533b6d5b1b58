namespace HilBench.Metrics.Importance;

/// <summary>
/// Importance of every neuron of one hidden block and the inter-neuron metric IN (see <see cref="NeuronImportance"/>).
/// </summary>
/// <param name="Block">Index of the block in <c>BnnModel.Blocks</c>.</param>
/// <param name="AccuracyDrop">I_j = accuracy(model) - accuracy(model with neuron j inverted), as a fraction (0.01 = one point).</param>
/// <param name="MarginDrop">Drop of the mean output margin (top-1 logit minus runner-up, times the model's logit scale) when neuron j is inverted.</param>
/// <param name="AccuracyVariance">IN: population variance of <paramref name="AccuracyDrop"/> over the block's neurons.</param>
/// <param name="AccuracyCv">Coefficient of variation of <paramref name="AccuracyDrop"/>: sd / |mean|, NaN when the mean is 0.</param>
/// <param name="MarginVariance">Population variance of <paramref name="MarginDrop"/>.</param>
/// <param name="MarginCv">Coefficient of variation of <paramref name="MarginDrop"/>, NaN when the mean is 0.</param>
public sealed record LayerImportance(
    int Block,
    double[] AccuracyDrop,
    double[] MarginDrop,
    double AccuracyVariance,
    double AccuracyCv,
    double MarginVariance,
    double MarginCv)
{
    /// <summary>Population variance (divided by the count); NaN for no values.</summary>
    public static double PopulationVariance(IReadOnlyList<double> values)
    {
        if (values.Count == 0) return double.NaN;
        double mean = values.Sum() / values.Count;
        double s = 0;
        foreach (double v in values) s += (v - mean) * (v - mean);
        return s / values.Count;
    }

    /// <summary>sd / |mean| with the population sd; NaN when there are no values or the mean is 0 (undefined, not infinite).</summary>
    public static double CoefficientOfVariation(IReadOnlyList<double> values)
    {
        if (values.Count == 0) return double.NaN;
        double mean = values.Sum() / values.Count;
        return mean == 0 ? double.NaN : Math.Sqrt(PopulationVariance(values)) / Math.Abs(mean);
    }

    internal static LayerImportance FromDrops(int block, double[] accuracyDrop, double[] marginDrop) => new(
        block, accuracyDrop, marginDrop,
        PopulationVariance(accuracyDrop), CoefficientOfVariation(accuracyDrop),
        PopulationVariance(marginDrop), CoefficientOfVariation(marginDrop));
}
