namespace HilBench.Bnn.Training.Losses;

/// <summary>
/// The modified hinge loss (MHL) of Buschjäger et al., "Margin-Maximization in Binarized Neural
/// Networks for Optimizing Bit Error Tolerance" (DATE 2021), one-vs-rest: per sample
/// (1/classes) * sum_k max(0, b - t_k * y_k) / b with t_k = +1 for the label and -1 otherwise;
/// the batch loss is the mean over samples. dL/dy_k = -t_k / (b * classes * batch) where
/// b - t_k * y_k &gt; 0, else 0 (also exactly at the hinge, b - t_k * y_k = 0).
/// </summary>
public sealed class ModifiedHingeLoss : ILoss
{
    /// <param name="margin">The margin b, in units of the scaled pre-activations; finite and positive.</param>
    public ModifiedHingeLoss(double margin = 128)
    {
        Margin = LossMath.CheckParameter(margin, nameof(margin), "hinge margin b");
    }

    /// <summary>The margin b.</summary>
    public double Margin { get; }

    public string Name => "mhl";

    public double Compute(ReadOnlySpan<float> logits, ReadOnlySpan<byte> labels, int classes, Span<float> gradient)
    {
        int batch = LossMath.Validate(logits.Length, labels, classes, gradient.Length);
        double b = Margin;
        float step = (float)(1.0 / (b * classes * batch)); // |dL/dy_k| where the hinge is active
        double total = 0;
        for (int i = 0; i < batch; i++)
        {
            ReadOnlySpan<float> y = logits.Slice(i * classes, classes);
            Span<float> g = gradient.Slice(i * classes, classes);
            int label = labels[i];
            double sample = 0;
            for (int k = 0; k < classes; k++)
            {
                double t = k == label ? 1.0 : -1.0;
                double hinge = b - t * y[k];
                if (hinge > 0)
                {
                    sample += hinge;
                    g[k] = k == label ? -step : step;
                }
                else
                {
                    g[k] = 0f;
                }
            }
            total += sample / (b * classes);
        }
        return total / batch;
    }
}
