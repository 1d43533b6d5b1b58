using HilBench.Bnn.Data;
using HilBench.Bnn.Layers;
using HilBench.Bnn.Model;
using HilBench.Bnn.Tensors;

namespace HilBench.Metrics.Tests.Support;

/// <summary>Hand-built and seeded random networks and images for the metric tests.</summary>
internal static class TinyNetworks
{
    /// <summary>A weight matrix from rows of +1/-1.</summary>
    public static BitMatrix Weights(params int[][] rows)
    {
        var m = new BitMatrix(rows.Length, rows[0].Length);
        for (int r = 0; r < rows.Length; r++)
        {
            Assert.That(rows[r], Has.Length.EqualTo(rows[0].Length));
            for (int c = 0; c < rows[r].Length; c++)
            {
                Assert.That(Math.Abs(rows[r][c]), Is.EqualTo(1), "weights are +1 or -1");
                m[r, c] = rows[r][c] > 0;
            }
        }
        return m;
    }

    public static BinaryDense Dense(int inputs, params int[][] rows) => new(TensorShape.Vector(inputs), Weights(rows));

    public static ThresholdLayer Thresholds(int[] thresholds, bool[] ascending) =>
        new(TensorShape.Vector(thresholds.Length), thresholds, ascending);

    /// <summary>Random 8-bit images, Fashion-MNIST-like: many zeros, a few saturated pixels.</summary>
    public static byte[] RandomPixels(int count, TensorShape shape, int seed)
    {
        var r = new Random(seed);
        var px = new byte[count * shape.Size];
        r.NextBytes(px);
        for (int i = 0; i < px.Length; i++)
        {
            int k = r.Next(10);
            if (k < 4) px[i] = 0;
            else if (k == 4) px[i] = 255;
        }
        return px;
    }

    /// <summary>Seeded random images with seeded random labels.</summary>
    public static ImageSet RandomImages(BnnModel model, int count, int seed)
    {
        var labels = new byte[count];
        var r = new Random(seed + 1_000_003);
        for (int i = 0; i < count; i++) labels[i] = (byte)r.Next(model.Classes);
        return new ImageSet(model.InputShape, RandomPixels(count, model.InputShape, seed), labels, model.Classes);
    }

    /// <summary>Images given pixel by pixel (each row one image) with their labels.</summary>
    public static ImageSet Images(TensorShape shape, int classes, byte[] labels, params byte[][] images) =>
        new(shape, images.SelectMany(i => i).ToArray(), labels, classes);
}
