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
/// <param name="AccuracyNoise">How much of <paramref name="AccuracyVariance"/> the finite evaluation set adds on average (<see cref="SamplingBias"/>).</param>
/// <param name="MarginNoise">The same for <paramref name="MarginVariance"/>.</param>
/// <remarks>
/// An importance is a mean over the evaluation images, so it carries sampling noise, and noise adds to the variance
/// across neurons: on 10,000 images a neuron whose inversion changes 1 % of the predictions has an importance with a
/// standard error near 0.001, a variance of 1e-6, the size of IN itself in wide layers. <see cref="AccuracyVarianceCorrected"/>
/// subtracts that expected inflation and so estimates the variance of the importances on unlimited data from the same
/// distribution; it can come out negative when the neurons' importances are equal within the noise.
/// </remarks>
public sealed record LayerImportance(
    int Block,
    double[] AccuracyDrop,
    double[] MarginDrop,
    double AccuracyVariance,
    double AccuracyCv,
    double MarginVariance,
    double MarginCv,
    double AccuracyNoise,
    double MarginNoise)
{
    /// <summary>IN with the sampling noise of the importances taken out: <see cref="AccuracyVariance"/> - <see cref="AccuracyNoise"/>.</summary>
    public double AccuracyVarianceCorrected => AccuracyVariance - AccuracyNoise;

    /// <summary><see cref="MarginVariance"/> - <see cref="MarginNoise"/>.</summary>
    public double MarginVarianceCorrected => MarginVariance - MarginNoise;

    /// <summary>
    /// The expected excess of the population variance across neurons of importances measured on N images over the
    /// variance of the true importances. With D_jx the drop for neuron j on image x and images independent draws,
    /// E[Var_j(I^_j)] = Var_j(I_j) + (mean_j Var(D_j) - Var(mean_j D_j)) / N; both variances are estimated without
    /// bias from the sample (divisor N - 1). The second term is there because every neuron is scored on the same images.
    /// </summary>
    /// <param name="means">I^_j, the mean drop per neuron.</param>
    /// <param name="meanSquares">Mean over images of D_jx squared, per neuron.</param>
    /// <param name="perImage">Mean over neurons of D_jx, per image.</param>
    /// <returns>The excess; NaN with fewer than two images or no neurons.</returns>
    public static double SamplingBias(IReadOnlyList<double> means, IReadOnlyList<double> meanSquares, IReadOnlyList<double> perImage)
    {
        int n = perImage.Count, neurons = means.Count;
        if (n < 2 || neurons == 0) return double.NaN;
        double withinNeuron = 0;
        for (int j = 0; j < neurons; j++) withinNeuron += (meanSquares[j] - means[j] * means[j]) * n / (n - 1);
        withinNeuron /= neurons;
        double acrossNeurons = PopulationVariance(perImage) * n / (n - 1);
        return (withinNeuron - acrossNeurons) / n;
    }

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
}
