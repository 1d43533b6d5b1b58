namespace HilBench.Bnn.Training.Losses;

/// <summary>
/// A training loss on the output layer's scaled pre-activations. Formulas and gradients are
/// documented in docs/training.md ("Losses").
/// </summary>
public interface ILoss
{
    /// <summary>Short name used on the command line and in logs: "ce", "mhl" or "mcel".</summary>
    string Name { get; }

    /// <summary>
    /// logits: batch*classes row-major, the output layer's scaled pre-activations y (float); labels: batch class indices.
    /// Writes dLoss/dy into gradient (same shape) for the MEAN loss over the batch, and returns that mean loss.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// classes &lt; 2, an empty batch, logits.Length != labels.Length * classes, gradient of another length,
    /// or a label &gt;= classes (the message names the sample and the label).
    /// </exception>
    double Compute(ReadOnlySpan<float> logits, ReadOnlySpan<byte> labels, int classes, Span<float> gradient);
}
