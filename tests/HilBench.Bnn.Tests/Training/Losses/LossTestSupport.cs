using HilBench.Bnn.Training.Losses;
using NUnit.Framework;

namespace HilBench.Bnn.Tests.Training.Losses;

/// <summary>Random inputs and a finite-difference gradient check shared by the loss tests.</summary>
internal static class LossTestSupport
{
    /// <summary>Finite-difference step: a power of two, so y +- Step is exact in float for the dyadic logits below.</summary>
    public const double Step = 1.0 / 1024;

    /// <summary>
    /// Logits uniform in [-range, range], rounded to multiples of 2^-12 so that every y +- <see cref="Step"/>
    /// is exactly representable (|y| &lt;= 512 needs 21 mantissa bits) and the difference quotient is taken
    /// in exact double arithmetic on exact inputs.
    /// </summary>
    public static float[] DyadicLogits(Random random, int count, double range)
    {
        Assert.That(range, Is.LessThanOrEqualTo(512));
        var y = new float[count];
        for (int i = 0; i < count; i++)
            y[i] = (float)(Math.Round((random.NextDouble() * 2 - 1) * range * 4096) / 4096);
        return y;
    }

    public static byte[] Labels(Random random, int batch, int classes)
    {
        var labels = new byte[batch];
        for (int i = 0; i < batch; i++)
            labels[i] = (byte)random.Next(Math.Min(classes, 256));
        return labels;
    }

    public static (double Loss, float[] Gradient) Run(ILoss loss, float[] logits, byte[] labels, int classes)
    {
        var gradient = new float[logits.Length];
        Array.Fill(gradient, float.NaN); // the loss must overwrite every entry
        double value = loss.Compute(logits, labels, classes, gradient);
        return (value, gradient);
    }

    /// <summary>Central difference (L(y + h e_j) - L(y - h e_j)) / 2h for every j, in double.</summary>
    public static double[] FiniteDifferences(ILoss loss, float[] logits, byte[] labels, int classes)
    {
        var probe = (float[])logits.Clone();
        var scratch = new float[logits.Length];
        var result = new double[logits.Length];
        for (int j = 0; j < logits.Length; j++)
        {
            float y = logits[j];
            probe[j] = (float)(y + Step);
            Assert.That((double)probe[j], Is.EqualTo(y + Step), "finite-difference step not exact in float");
            double up = loss.Compute(probe, labels, classes, scratch);
            probe[j] = (float)(y - Step);
            Assert.That((double)probe[j], Is.EqualTo(y - Step), "finite-difference step not exact in float");
            double down = loss.Compute(probe, labels, classes, scratch);
            probe[j] = y;
            result[j] = (up - down) / (2 * Step);
        }
        return result;
    }

    /// <summary>Asserts the analytic gradient matches central differences to 1e-7 absolute plus 1e-5 relative.</summary>
    public static void AssertGradientMatchesFiniteDifferences(ILoss loss, float[] logits, byte[] labels, int classes)
    {
        var (value, gradient) = Run(loss, logits, labels, classes);
        Assert.That(double.IsFinite(value), Is.True, $"{loss.Name}: loss {value}");
        var fd = FiniteDifferences(loss, logits, labels, classes);
        for (int j = 0; j < logits.Length; j++)
        {
            Assert.That(float.IsFinite(gradient[j]), Is.True, $"{loss.Name}: gradient[{j}] = {gradient[j]}");
            double tolerance = 1e-7 + 1e-5 * Math.Abs(fd[j]);
            Assert.That((double)gradient[j], Is.EqualTo(fd[j]).Within(tolerance),
                $"{loss.Name}: sample {j / classes}, class {j % classes}, y = {logits[j]}, label {labels[j / classes]}");
        }
    }
}
