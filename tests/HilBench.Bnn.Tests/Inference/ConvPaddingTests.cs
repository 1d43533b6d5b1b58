using HilBench.Bnn.Inference;
using HilBench.Bnn.Kernels;
using HilBench.Bnn.Layers;
using HilBench.Bnn.Model;
using HilBench.Bnn.Tensors;
using NUnit.Framework;

namespace HilBench.Bnn.Tests.Inference;

/// <summary>Conv borders against a float convolution over an explicitly zero-padded input.</summary>
[TestFixture]
public class ConvPaddingTests
{
    /// <summary>3x3 "same" convolution in float: the input is copied into a zero border, weights are +-1.0.</summary>
    private static float[] FloatConv(BinaryConv2d conv, float[] input)
    {
        var s = conv.InputShape;
        int ph = s.Height + 2, pw = s.Width + 2;
        var padded = new float[ph * pw * s.Channels];
        for (int y = 0; y < s.Height; y++)
            for (int x = 0; x < s.Width; x++)
                for (int c = 0; c < s.Channels; c++)
                    padded[((y + 1) * pw + x + 1) * s.Channels + c] = input[(y * s.Width + x) * s.Channels + c];
        var output = new float[s.Height * s.Width * conv.Outputs];
        for (int y = 0; y < s.Height; y++)
            for (int x = 0; x < s.Width; x++)
                for (int o = 0; o < conv.Outputs; o++)
                {
                    float sum = 0;
                    for (int kh = 0; kh < 3; kh++)
                        for (int kw = 0; kw < 3; kw++)
                            for (int c = 0; c < s.Channels; c++)
                                sum += conv.Weights.Sign(o, conv.Column(kh, kw, c)) * padded[((y + kh) * pw + x + kw) * s.Channels + c];
                    output[(y * s.Width + x) * conv.Outputs + o] = sum;
                }
        return output;
    }

    [TestCase(1, 1, 1)]
    [TestCase(2, 3, 2)]
    [TestCase(5, 4, 3)]
    [TestCase(6, 6, 64)]
    [TestCase(28, 28, 1)]
    public void BordersMatchFloatZeroPadding(int h, int w, int c)
    {
        var model = ModelBuilder.FromSpec("conv5,conv66,dense3", new TensorShape(h, w, c), new Random(h * w * c));
        var px = KernelEquivalenceTests.RandomPixels(3, model.InputShape, 9);
        var first = (BinaryConv2d)model.Blocks[0].Linear;
        var second = (BinaryConv2d)model.Blocks[1].Linear;
        foreach (var path in KernelPaths.Supported())
        {
            var r = new InferenceEngine(model, path).Run(px, 3, threads: 1, captureLayers: true);
            for (int i = 0; i < 3; i++)
            {
                var image = px.AsSpan(i * model.InputShape.Size, model.InputShape.Size).ToArray().Select(b => (float)b).ToArray();
                var expected0 = FloatConv(first, image);
                Assert.That(r.Layers![0].PreActivationsOf(i).ToArray().Select(a => (float)a), Is.EqualTo(expected0), $"first conv on {path}");

                var outputs = r.Layers[0].Outputs!;
                var signs = Enumerable.Range(0, first.OutputShape.Size).Select(k => outputs[i, k] ? 1f : -1f).ToArray();
                var expected1 = FloatConv(second, signs);
                Assert.That(r.Layers[1].PreActivationsOf(i).ToArray().Select(a => (float)a), Is.EqualTo(expected1), $"binary conv on {path}");
            }
        }
    }
}
