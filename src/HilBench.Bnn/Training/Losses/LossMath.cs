namespace HilBench.Bnn.Training.Losses;

/// <summary>Input checks and the softmax cross-entropy kernel shared by the losses.</summary>
internal static class LossMath
{
    /// <summary>
    /// Checks the shapes and every label before anything is written, so a refused call leaves
    /// <paramref name="gradientLength"/>'s buffer untouched. Returns the batch size.
    /// </summary>
    public static int Validate(int logitsLength, ReadOnlySpan<byte> labels, int classes, int gradientLength)
    {
        if (classes < 2)
            throw new ArgumentException($"A loss needs at least 2 classes, got {classes}.", nameof(classes));
        int batch = labels.Length;
        if (batch < 1)
            throw new ArgumentException("The batch is empty: at least one label is needed.", nameof(labels));
        if ((long)batch * classes != logitsLength)
            throw new ArgumentException(
                $"logits has {logitsLength} values but {batch} labels x {classes} classes need {(long)batch * classes}.",
                "logits");
        if (gradientLength != logitsLength)
            throw new ArgumentException(
                $"gradient has {gradientLength} values but must have the logits' {logitsLength}.", "gradient");
        for (int i = 0; i < batch; i++)
            if (labels[i] >= classes)
                throw new ArgumentException(
                    $"Label of sample {i} is {labels[i]}, not a class index below {classes}.", nameof(labels));
        return batch;
    }

    /// <summary>Throws unless <paramref name="value"/> is finite and &gt; 0 (or &gt;= 0 when <paramref name="allowZero"/>).</summary>
    public static double CheckParameter(double value, string paramName, string what, bool allowZero = false)
    {
        if (!double.IsFinite(value) || value < 0 || (value == 0 && !allowZero))
            throw new ArgumentOutOfRangeException(paramName, value,
                $"The {what} must be finite and {(allowZero ? "non-negative" : "positive")}.");
        return value;
    }

    /// <summary>
    /// Softmax cross-entropy of one sample in double: returns -log softmax(z)_label, computed as
    /// log-sum-exp with the maximum subtracted, and writes dz = softmax(z) - onehot(label).
    /// </summary>
    public static double SoftmaxCrossEntropy(ReadOnlySpan<double> z, int label, Span<double> dz)
    {
        double max = double.NegativeInfinity;
        foreach (double v in z)
            if (v > max) max = v;
        double sum = 0;
        for (int k = 0; k < z.Length; k++)
        {
            double e = Math.Exp(z[k] - max);
            dz[k] = e;
            sum += e;
        }
        // sum >= 1 (the maximum contributes exp(0)), so the logarithm and division are safe.
        double inv = 1.0 / sum;
        for (int k = 0; k < z.Length; k++)
            dz[k] *= inv;
        dz[label] -= 1.0;
        return max + Math.Log(sum) - z[label];
    }

    /// <summary>Buffers of this many doubles or fewer live on the stack.</summary>
    public const int StackLimit = 512;
}
