using HilBench.Bnn.Inference;
using HilBench.Bnn.Kernels;
using HilBench.Bnn.Layers;
using HilBench.Bnn.Model;
using HilBench.Bnn.Tensors;
using NUnit.Framework;

namespace HilBench.Bnn.Tests.Inference;

/// <summary>
/// Starting inference at a later block from captured +-1 outputs must give exactly what a full run gives,
/// on every kernel path (and with binary layers forced off the lookup kernel).
/// </summary>
[TestFixture]
public class RunFromTests
{
    private static IEnumerable<(KernelPath Path, bool Lookup)> Variants =>
        KernelPaths.Supported().Select(p => (p, true))
            .Concat(KernelPaths.Supported().Where(p => p == KernelPath.Vector512).Select(p => (p, false)));

    private static void AssertResumesExactly(BnnModel model, int count, int seed, int threads)
    {
        var px = KernelEquivalenceTests.RandomPixels(count, model.InputShape, seed);
        var full = ReferenceInference.Run(model, px, count, captureLayers: true);
        foreach (var (path, lookup) in Variants)
        {
            var engine = new InferenceEngine(model, path, lookup);
            for (int b = 1; b < model.Blocks.Count; b++)
            {
                var resumed = engine.RunFrom(b, full.Layers![b - 1].Outputs!, threads);
                Assert.That(resumed.Count, Is.EqualTo(count));
                Assert.That(resumed.Logits, Is.EqualTo(full.Logits), $"logits from block {b} on {path} (lookup {lookup})");
                Assert.That(resumed.Predictions, Is.EqualTo(full.Predictions), $"predictions from block {b} on {path} (lookup {lookup})");
                Assert.That(resumed.Layers, Is.Null);
            }
        }
    }

    [Test]
    public void MlpResumesExactlyFromEveryBlock() =>
        AssertResumesExactly(ModelBuilder.FromSpec("dense300,dense100,dense70,dense10", new TensorShape(8, 8, 1), new Random(21)), count: 37, seed: 22, threads: 1);

    [Test]
    public void MlpResumesExactlyOnSeveralThreads() =>
        AssertResumesExactly(ModelBuilder.FromSpec("dense65,dense130,dense10", new TensorShape(5, 5, 1), new Random(23)), count: 203, seed: 24, threads: 2);

    [Test]
    public void ConvModelResumesExactlyFromEveryBlock() =>
        AssertResumesExactly(ModelBuilder.FromSpec("conv8,pool,conv70,pool,conv5,dense33,dense4", new TensorShape(10, 9, 2), new Random(25)), count: 9, seed: 26, threads: 2);

    [Test]
    public void Vgg3ResumesExactly() =>
        AssertResumesExactly(ModelBuilder.Vgg3(new Random(27)), count: 5, seed: 28, threads: 1);

    [Test]
    public void ModifiedInputsChangeTheResultAsAReferenceRunWould()
    {
        // Invert one hidden output for every image by turning its threshold around, and compare with
        // RunFrom on the captured outputs with that bit inverted.
        var model = ModelBuilder.FromSpec("dense40,dense30,dense10", new TensorShape(4, 4, 1), new Random(29));
        var px = KernelEquivalenceTests.RandomPixels(50, model.InputShape, 30);
        var captured = ReferenceInference.Run(model, px, 50, captureLayers: true);
        const int neuron = 7;
        var inputs = captured.Layers![0].Outputs!.Clone();
        for (int i = 0; i < inputs.Rows; i++) inputs[i, neuron] = !inputs[i, neuron];

        var t = (ThresholdLayer)model.Layers[1];
        var thresholds = (int[])t.Thresholds.Clone();
        var ascending = (bool[])t.Ascending.Clone();
        // Ascending a >= T inverted is a <= T-1 (descending); descending a <= T inverted is a >= T+1.
        thresholds[neuron] += ascending[neuron] ? -1 : 1;
        ascending[neuron] = !ascending[neuron];
        var layers = model.Layers.ToArray();
        layers[1] = new ThresholdLayer(t.InputShape, thresholds, ascending);
        var inverted = ReferenceInference.Run(new BnnModel(model.InputShape, layers), px, 50);

        foreach (var path in KernelPaths.Supported())
            Assert.That(new InferenceEngine(model, path).RunFrom(1, inputs).Logits, Is.EqualTo(inverted.Logits), path.ToString());
    }

    [Test]
    public void BadStartsAndInputsAreRefused()
    {
        var model = ModelBuilder.FromSpec("dense40,dense30,dense10", new TensorShape(4, 4, 1), new Random(31));
        var engine = new InferenceEngine(model);
        Assert.That(() => engine.RunFrom(0, new BitMatrix(2, 16)), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => engine.RunFrom(3, new BitMatrix(2, 30)), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => engine.RunFrom(1, new BitMatrix(2, 30)), Throws.ArgumentException.With.Message.Contains("reads 40 bits"));
        var padded = new BitMatrix(2, 40);
        padded.Words[0] |= 1UL << 50;
        Assert.That(() => engine.RunFrom(1, padded), Throws.ArgumentException.With.Message.Contains("padding"));
    }
}
