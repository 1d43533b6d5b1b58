using HilBench.Bnn.Inference;
using HilBench.Bnn.Layers;
using HilBench.Bnn.Model;
using HilBench.Bnn.Tensors;
using NUnit.Framework;

namespace HilBench.Bnn.Tests.Inference;

[TestFixture]
public class CaptureLimitTests
{
    [Test]
    public void CaptureLargerThanAnArrayIsRefusedNamingTheBlockAndTheImageLimit()
    {
        // One pixel per image fanning out to 65,536 neurons: 32,768 images need 2^31 captured values.
        const int wide = 65_536;
        var input = new TensorShape(1, 1, 1);
        var hidden = TensorShape.Vector(wide);
        var model = new BnnModel(input, [
            new BinaryDense(input, new BitMatrix(wide, 1)),
            new ThresholdLayer(hidden, new int[wide], new bool[wide]),
            new BinaryDense(hidden, new BitMatrix(2, wide)),
        ]);
        const int count = 32_768;
        Assert.That(() => new InferenceEngine(model).Run(new byte[count], count, captureLayers: true),
            Throws.ArgumentException.With.Message.Contains("block 0").And.Message.Contains($"capture at most {Array.MaxLength / wide} images"));
    }
}
