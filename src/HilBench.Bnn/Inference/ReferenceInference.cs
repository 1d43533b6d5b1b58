using HilBench.Bnn.Layers;
using HilBench.Bnn.Model;
using HilBench.Bnn.Tensors;

namespace HilBench.Bnn.Inference;

/// <summary>
/// The plain definition of BNN inference: one image at a time, one weight at a time, +-1 as ints.
/// Slow on purpose; every fast kernel path is checked against it.
/// </summary>
public static class ReferenceInference
{
    public static InferenceResult Run(BnnModel model, ReadOnlySpan<byte> pixels, int count, bool captureLayers = false)
    {
        int inputSize = model.InputShape.Size;
        if (pixels.Length != (long)count * inputSize) throw new ArgumentException($"expected {count} images of {inputSize} bytes");
        var blocks = model.Blocks;
        int classes = model.Classes;
        var logits = new int[count * classes];
        var predictions = new int[count];
        int[][]? pre = captureLayers ? blocks.Select(b => new int[count * b.OutputShape.Size]).ToArray() : null;
        BitMatrix?[]? outs = captureLayers ? blocks.Select(b => b.IsOutput ? null : new BitMatrix(count, b.OutputShape.Size)).ToArray() : null;

        for (int img = 0; img < count; img++)
        {
            // Activation values: pixels (0..255) for the first block, then +-1.
            int[] x = new int[inputSize];
            for (int i = 0; i < inputSize; i++) x[i] = pixels[img * inputSize + i];
            foreach (var block in blocks)
            {
                int[] a = Linear(block.Linear, x);
                if (block.Pool is not null) a = MaxPool(block.Pool, a);
                if (pre is not null) a.CopyTo(pre[block.Index], img * a.Length);
                if (block.Threshold is { } t)
                {
                    x = new int[a.Length];
                    int c = t.InputShape.Channels;
                    for (int i = 0; i < a.Length; i++)
                    {
                        bool on = t.Output(i % c, a[i]);
                        x[i] = on ? 1 : -1;
                        if (outs is not null) outs[block.Index]![img, i] = on;
                    }
                }
                else
                {
                    a.CopyTo(logits, img * classes);
                    predictions[img] = InferenceResult.ArgMax(a);
                }
            }
        }

        LayerActivations[]? layers = captureLayers
            ? blocks.Select(b => new LayerActivations(b.Index, b.OutputShape, count, pre![b.Index], outs![b.Index])).ToArray()
            : null;
        return new InferenceResult(count, classes, logits, predictions, layers);
    }

    private static int[] Linear(WeightLayer layer, int[] x) => layer switch
    {
        BinaryDense d => Dense(d, x),
        BinaryConv2d c => Conv(c, x),
        _ => throw new NotSupportedException(layer.Kind),
    };

    private static int[] Dense(BinaryDense d, int[] x)
    {
        var a = new int[d.Outputs];
        for (int o = 0; o < d.Outputs; o++)
        {
            int sum = 0;
            for (int i = 0; i < d.FanIn; i++) sum += d.Weights.Sign(o, i) * x[i];
            a[o] = sum;
        }
        return a;
    }

    private static int[] Conv(BinaryConv2d conv, int[] x)
    {
        var s = conv.InputShape;
        var a = new int[s.Height * s.Width * conv.Outputs];
        for (int y = 0; y < s.Height; y++)
            for (int xx = 0; xx < s.Width; xx++)
                for (int o = 0; o < conv.Outputs; o++)
                {
                    int sum = 0;
                    for (int kh = 0; kh < 3; kh++)
                        for (int kw = 0; kw < 3; kw++)
                        {
                            int iy = y + kh - 1, ix = xx + kw - 1;
                            if (iy < 0 || iy >= s.Height || ix < 0 || ix >= s.Width) continue; // zero padding: contributes 0
                            for (int c = 0; c < s.Channels; c++)
                                sum += conv.Weights.Sign(o, conv.Column(kh, kw, c)) * x[(iy * s.Width + ix) * s.Channels + c];
                        }
                    a[(y * s.Width + xx) * conv.Outputs + o] = sum;
                }
        return a;
    }

    private static int[] MaxPool(MaxPool2d pool, int[] a)
    {
        var s = pool.InputShape;
        var o = pool.OutputShape;
        var r = new int[o.Size];
        for (int y = 0; y < o.Height; y++)
            for (int x = 0; x < o.Width; x++)
                for (int c = 0; c < s.Channels; c++)
                {
                    int m = int.MinValue;
                    for (int dy = 0; dy < 2; dy++)
                        for (int dx = 0; dx < 2; dx++)
                            m = Math.Max(m, a[((2 * y + dy) * s.Width + 2 * x + dx) * s.Channels + c]);
                    r[(y * o.Width + x) * s.Channels + c] = m;
                }
        return r;
    }
}
