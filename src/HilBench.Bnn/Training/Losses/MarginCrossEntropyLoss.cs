namespace HilBench.Bnn.Training.Losses;

/// <summary>
/// Margin cross-entropy (MCEL): the logits are squashed, z_k = L * tanh(y_k / L), the margin m is
/// subtracted from the target, z_label - m, and softmax cross-entropy is taken on the result:
/// per sample -log softmax(z')_label, mean over the batch. The gradient goes through the squashing,
/// dL/dy_k = (softmax(z')_k - [k = label]) * (1 - tanh^2(y_k / L)) / batch. Computed in double.
/// </summary>
public sealed class MarginCrossEntropyLoss : ILoss
{
    /// <param name="margin">The margin m taken off the target logit; finite and non-negative (0 gives plain cross-entropy on the squashed logits).</param>
    /// <param name="limit">The squashing limit L (|z| &lt; L); finite and positive.</param>
    public MarginCrossEntropyLoss(double margin, double limit = 100)
    {
        Margin = LossMath.CheckParameter(margin, nameof(margin), "cross-entropy margin m", allowZero: true);
        Limit = LossMath.CheckParameter(limit, nameof(limit), "squashing limit L");
    }

    /// <summary>The margin m.</summary>
    public double Margin { get; }

    /// <summary>The squashing limit L.</summary>
    public double Limit { get; }

    public string Name => "mcel";

    public double Compute(ReadOnlySpan<float> logits, ReadOnlySpan<byte> labels, int classes, Span<float> gradient)
    {
        int batch = LossMath.Validate(logits.Length, labels, classes, gradient.Length);
        Span<double> buffer = 3 * classes <= LossMath.StackLimit ? stackalloc double[3 * classes] : new double[3 * classes];
        Span<double> z = buffer[..classes];
        Span<double> dz = buffer.Slice(classes, classes);
        Span<double> slope = buffer[(2 * classes)..];
        double limit = Limit;
        double invBatch = 1.0 / batch;
        double total = 0;
        for (int i = 0; i < batch; i++)
        {
            ReadOnlySpan<float> y = logits.Slice(i * classes, classes);
            int label = labels[i];
            for (int k = 0; k < classes; k++)
            {
                double t = Math.Tanh(y[k] / limit);
                z[k] = limit * t;
                slope[k] = 1.0 - t * t;
            }
            z[label] -= Margin;
            total += LossMath.SoftmaxCrossEntropy(z, label, dz);
            Span<float> g = gradient.Slice(i * classes, classes);
            for (int k = 0; k < classes; k++)
                g[k] = (float)(dz[k] * slope[k] * invBatch);
        }
        return total * invBatch;
    }
}
