using HilBench.Bnn.Tensors;

namespace HilBench.Bnn.Layers;

/// <summary>
/// Batch norm followed by sign, folded into one integer threshold and an orientation per channel:
/// ascending: o = +1 iff a &gt;= T; descending: o = +1 iff a &lt;= T.
/// Because the pre-activation a is an integer this reproduces BN+sign exactly.
/// </summary>
public sealed class ThresholdLayer : BnnLayer
{
    public ThresholdLayer(TensorShape inputShape, int[] thresholds, bool[] ascending) : base(inputShape)
    {
        if (thresholds.Length != inputShape.Channels || ascending.Length != inputShape.Channels)
            throw new ArgumentException($"threshold layer needs {inputShape.Channels} thresholds and orientations, got {thresholds.Length} and {ascending.Length}");
        Thresholds = thresholds;
        Ascending = ascending;
    }

    /// <summary>Integer threshold T per channel.</summary>
    public int[] Thresholds { get; }

    /// <summary>Orientation per channel: true means o = +1 iff a &gt;= T, false means o = +1 iff a &lt;= T.</summary>
    public bool[] Ascending { get; }

    public override TensorShape OutputShape => InputShape;

    public override string Kind => "threshold";

    public bool Output(int channel, int preActivation) =>
        Ascending[channel] ? preActivation >= Thresholds[channel] : preActivation <= Thresholds[channel];

    /// <summary>
    /// Folds batch norm (gamma, beta, running mean and variance, eps) followed by sign(y &gt;= 0 -&gt; +1)
    /// into integer thresholds giving exactly the same outputs for every integer pre-activation.
    /// </summary>
    /// <exception cref="ArgumentException">A parameter is NaN or infinite, or variance + eps is not positive.</exception>
    public static ThresholdLayer FromBatchNorm(TensorShape inputShape, ReadOnlySpan<double> gamma, ReadOnlySpan<double> beta,
        ReadOnlySpan<double> mean, ReadOnlySpan<double> variance, double eps)
    {
        int c = inputShape.Channels;
        if (gamma.Length != c || beta.Length != c || mean.Length != c || variance.Length != c)
            throw new ArgumentException($"batch norm parameters must have {c} entries each");
        var t = new int[c];
        var asc = new bool[c];
        for (int j = 0; j < c; j++)
        {
            CheckFinite("gamma", gamma[j], j);
            CheckFinite("beta", beta[j], j);
            CheckFinite("running mean", mean[j], j);
            CheckFinite("running variance", variance[j], j);
            if (!(variance[j] + eps > 0) || double.IsInfinity(variance[j] + eps))
                throw new ArgumentException($"batch norm channel {j}: variance + eps = {variance[j]} + {eps} is not a positive finite number; use eps > 0 (a trained variance is never negative)");
            double sd = Math.Sqrt(variance[j] + eps);
            if (gamma[j] == 0)
            {
                // Constant output: always +1 when beta >= 0, never otherwise.
                asc[j] = true;
                t[j] = beta[j] >= 0 ? int.MinValue : int.MaxValue;
                continue;
            }
            double boundary = mean[j] - beta[j] * sd / gamma[j];
            asc[j] = gamma[j] > 0;
            double edge = asc[j] ? Math.Ceiling(boundary) : Math.Floor(boundary);
            // Guard against rounding at the boundary: check the integer neighbours with the BN formula itself.
            long ti = (long)Math.Clamp(edge, int.MinValue + 2.0, int.MaxValue - 2.0);
            double g = gamma[j], m = mean[j], b = beta[j];
            bool Fires(long a) => g * (a - m) / sd + b >= 0;
            if (asc[j])
            {
                while (ti > int.MinValue + 1 && Fires(ti - 1)) ti--;
                while (ti < int.MaxValue - 1 && !Fires(ti)) ti++;
            }
            else
            {
                while (ti < int.MaxValue - 1 && Fires(ti + 1)) ti++;
                while (ti > int.MinValue + 1 && !Fires(ti)) ti--;
            }
            t[j] = (int)ti;
        }
        return new ThresholdLayer(inputShape, t, asc);
    }

    private static void CheckFinite(string name, double value, int channel)
    {
        if (!double.IsFinite(value))
            throw new ArgumentException($"batch norm channel {channel}: the {name} is {value}, so no threshold exists; training diverged: lower the learning rate and train again");
    }
}
