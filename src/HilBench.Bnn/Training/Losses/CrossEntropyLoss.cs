namespace HilBench.Bnn.Training.Losses;

/// <summary>
/// Softmax cross-entropy: L = mean over samples of -log softmax(y)_label, with
/// dL/dy_k = (softmax(y)_k - [k = label]) / batch. Computed in double with the maximum
/// logit subtracted (log-sum-exp), so large logits neither overflow nor lose the loss.
/// </summary>
public sealed class CrossEntropyLoss : ILoss
{
    public string Name => "ce";

    public double Compute(ReadOnlySpan<float> logits, ReadOnlySpan<byte> labels, int classes, Span<float> gradient)
    {
        int batch = LossMath.Validate(logits.Length, labels, classes, gradient.Length);
        Span<double> buffer = 2 * classes <= LossMath.StackLimit ? stackalloc double[2 * classes] : new double[2 * classes];
        Span<double> z = buffer[..classes];
        Span<double> dz = buffer[classes..];
        double invBatch = 1.0 / batch;
        double total = 0;
        for (int i = 0; i < batch; i++)
        {
            ReadOnlySpan<float> y = logits.Slice(i * classes, classes);
            for (int k = 0; k < classes; k++)
                z[k] = y[k];
            total += LossMath.SoftmaxCrossEntropy(z, labels[i], dz);
            Span<float> g = gradient.Slice(i * classes, classes);
            for (int k = 0; k < classes; k++)
                g[k] = (float)(dz[k] * invBatch);
        }
        return total * invBatch;
    }
}
