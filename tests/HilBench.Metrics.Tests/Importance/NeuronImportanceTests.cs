using HilBench.Bnn.Data;
using HilBench.Bnn.Inference;
using HilBench.Bnn.Layers;
using HilBench.Bnn.Model;
using HilBench.Bnn.Tensors;
using HilBench.Metrics.Importance;
using HilBench.Metrics.Tests.Support;

namespace HilBench.Metrics.Tests.Importance;

[TestFixture]
public class NeuronImportanceTests
{
    /// <summary>
    /// 2 pixels -> h0 (+ -, on iff p0 &gt;= p1) and h1 (+ +, on iff p0 + p1 &gt;= 100, or its inverse) -> 2 classes
    /// with logits (o0 - o1, o1 - o0), times 0.5.
    /// </summary>
    private static BnnModel HandBuilt(bool invertH1 = false) => new(TensorShape.Vector(2),
    [
        TinyNetworks.Dense(2, [1, -1], [1, 1]),
        invertH1 ? TinyNetworks.Thresholds([0, 99], [true, false]) : TinyNetworks.Thresholds([0, 100], [true, true]),
        TinyNetworks.Dense(2, [1, -1], [-1, 1]),
    ], logitScale: 0.5f);

    // (50, 10) label 0: o = (+, -), logits (2, -2), correct, margin 4
    // (10, 200) label 1: o = (-, +), logits (-2, 2), correct, margin 4
    // (100, 100) label 0: o = (+ by the tie rule, +), logits (0, 0), class 0 by the tie rule, correct, margin 0
    // (0, 0) label 1: o = (+, -), logits (2, -2), wrong, margin 4
    private static ImageSet HandImages() =>
        TinyNetworks.Images(TensorShape.Vector(2), 2, [0, 1, 0, 1], [50, 10], [10, 200], [100, 100], [0, 0]);

    [Test]
    public void HandBuiltImportances()
    {
        var model = HandBuilt();
        var data = HandImages();
        Assert.That(new InferenceEngine(model).Run(data.Pixels, data.Count).Accuracy(data.Labels), Is.EqualTo(0.75));

        var r = NeuronImportance.Compute(model, data, 0);
        // Inverting h0: logits (0,0) right, (0,0) wrong, (-2,2) wrong, (0,0) wrong -> 1 of 4 correct, margins 0+0+4+0.
        // Inverting h1: logits (0,0) right, (0,0) wrong, (2,-2) right, (0,0) wrong -> 2 of 4 correct, margins 0+0+4+0.
        Assert.That(r.Block, Is.Zero);
        Assert.That(r.AccuracyDrop, Is.EqualTo(new[] { 0.5, 0.25 }));
        Assert.That(r.MarginDrop, Is.EqualTo(new[] { (12 - 4) / 4.0 * 0.5, (12 - 4) / 4.0 * 0.5 }));
        Assert.That(r.AccuracyVariance, Is.EqualTo(0.015625));
        Assert.That(r.AccuracyCv, Is.EqualTo(0.125 / 0.375).Within(1e-15));
        Assert.That(r.MarginVariance, Is.Zero);
        Assert.That(r.MarginCv, Is.Zero);
        // Accuracy drops per image: h0 (0, 1, 1, 0), h1 (0, 1, 0, 0). Within-neuron variances (divisor 3) 1/3 and 1/4,
        // mean 7/24; per-image means over neurons (0, 1, 0.5, 0) have variance 11/48; (7/24 - 11/48) / 4 = 1/64.
        Assert.That(r.AccuracyNoise, Is.EqualTo(1.0 / 64).Within(1e-15));
        Assert.That(r.AccuracyVarianceCorrected, Is.EqualTo(0).Within(1e-15), "two importances 0.25 apart on 4 images are within the noise");
        // Margin drops are (2, 2, -2, 2) for both neurons: identical neurons, so the noise cancels and nothing is subtracted.
        Assert.That(r.MarginNoise, Is.EqualTo(0).Within(1e-15));
        Assert.That(NeuronImportance.ComputeNaive(model, data, 0), Is.EqualTo(r).Using<LayerImportance>(SameImportance));
    }

    [Test]
    public void DescendingThresholdIsTheInverseAndGivesANegativeImportance()
    {
        // h1 descending at 99 is h1 inverted: the model now scores 2 of 4, and inverting h1 back restores 3 of 4.
        var model = HandBuilt(invertH1: true);
        var data = HandImages();
        Assert.That(new InferenceEngine(model).Run(data.Pixels, data.Count).Accuracy(data.Labels), Is.EqualTo(0.5));
        var r = NeuronImportance.Compute(model, data, 0);
        Assert.That(r.AccuracyDrop[1], Is.EqualTo(-0.25));
        Assert.That(r.MarginDrop[1], Is.EqualTo(-(12 - 4) / 4.0 * 0.5));
        Assert.That(NeuronImportance.ComputeNaive(model, data, 0), Is.EqualTo(r).Using<LayerImportance>(SameImportance));
    }

    [TestCase(0, true, -1, false)]
    [TestCase(5, false, 6, true)]
    [TestCase(-3, true, -4, false)]
    [TestCase(int.MinValue, true, int.MaxValue, true)]
    [TestCase(int.MaxValue, false, int.MaxValue, true)]
    public void InvertedThresholdNegatesEveryOutput(int t, bool asc, int expectedT, bool expectedAsc)
    {
        Assert.That(NeuronImportance.Inverted(t, asc), Is.EqualTo((expectedT, expectedAsc)));
        if (t is int.MinValue or int.MaxValue) return;
        for (int a = t - 3; a <= t + 3; a++)
        {
            bool on = asc ? a >= t : a <= t;
            bool inverted = expectedAsc ? a >= expectedT : a <= expectedT;
            Assert.That(inverted, Is.EqualTo(!on), $"a = {a}");
        }
    }

    /// <summary>Every evaluation path must reproduce the naive definition exactly (doubles equal), for every hidden block.</summary>
    [TestCase("dense32,dense24,dense10", 4, 4, 1, new[] { "NextHidden", "LastHidden" })]
    [TestCase("dense20,dense20,dense20,dense10", 4, 4, 1, new[] { "Rerun", "NextHidden", "LastHidden" })]
    [TestCase("dense70,dense66,dense3", 3, 3, 2, new[] { "NextHidden", "LastHidden" })]
    [TestCase("conv6,pool,conv8,pool,dense16,dense10", 8, 8, 1, new[] { "Rerun", "Rerun", "LastHidden" })]
    [TestCase("conv5,pool,dense7", 6, 5, 2, new[] { "LastHidden" })]
    public void EveryPathEqualsTheNaiveDefinition(string spec, int h, int w, int c, string[] paths)
    {
        var model = ModelBuilder.FromSpec(spec, new TensorShape(h, w, c), new Random(spec.Length * 7 + h));
        var data = TinyNetworks.RandomImages(model, 150, h * 31 + c);
        var captured = new InferenceEngine(model).Run(data.Pixels, data.Count, captureLayers: true);
        bool anyAccuracyChange = false, anyMarginChange = false;
        for (int b = 0; b < paths.Length; b++)
        {
            Assert.That(NeuronImportance.PathFor(model, b), Is.EqualTo(Enum.Parse<ImportancePath>(paths[b])), $"path of block {b}");
            var naive = NeuronImportance.ComputeNaive(model, data, b);
            var fast = NeuronImportance.Compute(model, data, b, threads: 2, captured);
            Assert.That(fast, Is.EqualTo(naive).Using<LayerImportance>(SameImportance), $"block {b} ({paths[b]})");
            var single = NeuronImportance.Compute(model, data, b, threads: 1);
            Assert.That(single, Is.EqualTo(naive).Using<LayerImportance>(SameImportance), $"block {b} on one thread, without a captured run");
            anyAccuracyChange |= fast.AccuracyDrop.Any(v => v != 0);
            anyMarginChange |= fast.MarginDrop.Any(v => v != 0);
        }
        Assert.That(anyAccuracyChange && anyMarginChange, "the random model must make the comparison meaningful");
    }

    [Test]
    public void NextHiddenPathSeesFragileNeuronsOnBothSidesOfEveryTieRule()
    {
        // Thresholds right at the likely pre-activations (fan-in 12: a in -12, -10, ..., 12), both orientations,
        // so the shortcut's "within 2 of the threshold" cases (on and off, ties) all occur.
        var r = new Random(51);
        var model = ModelBuilder.FromSpec("dense12,dense6,dense4", TensorShape.Vector(5), r);
        var layers = model.Layers.ToArray();
        var t = (ThresholdLayer)layers[3];
        var thresholds = new[] { 0, 1, -1, 2, -2, 0 };
        var ascending = new[] { true, true, false, false, true, false };
        layers[3] = new ThresholdLayer(t.InputShape, thresholds, ascending);
        model = new BnnModel(model.InputShape, layers);
        var data = TinyNetworks.RandomImages(model, 300, 52);
        Assert.That(NeuronImportance.PathFor(model, 0), Is.EqualTo(ImportancePath.NextHidden));
        var fast = NeuronImportance.Compute(model, data, 0, threads: 2);
        Assert.That(fast, Is.EqualTo(NeuronImportance.ComputeNaive(model, data, 0)).Using<LayerImportance>(SameImportance));
        Assert.That(fast.AccuracyDrop.Any(v => v != 0));
    }

    [Test]
    public void OutputBlockAndOutOfRangeBlocksAreRefused()
    {
        var model = HandBuilt();
        var data = HandImages();
        Assert.That(() => NeuronImportance.Compute(model, data, 1), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => NeuronImportance.Compute(model, data, -1), Throws.InstanceOf<ArgumentOutOfRangeException>());
        var plain = new InferenceEngine(model).Run(data.Pixels, data.Count);
        Assert.That(() => NeuronImportance.Compute(model, data, 0, captured: plain), Throws.ArgumentException.With.Message.Contains("captureLayers"));
    }

    [Test]
    public void VarianceAndCoefficientOfVariation()
    {
        Assert.That(LayerImportance.PopulationVariance([1, 2, 3, 4]), Is.EqualTo(1.25));
        Assert.That(LayerImportance.CoefficientOfVariation([1, 2, 3, 4]), Is.EqualTo(Math.Sqrt(1.25) / 2.5).Within(1e-15));
        Assert.That(LayerImportance.CoefficientOfVariation([-1, -3]), Is.EqualTo(0.5), "sd over |mean|");
        Assert.That(LayerImportance.CoefficientOfVariation([-1, 1]), Is.NaN, "mean 0: undefined");
        Assert.That(LayerImportance.PopulationVariance([]), Is.NaN);
        Assert.That(LayerImportance.CoefficientOfVariation([]), Is.NaN);
    }

    /// <summary>Exact equality of every figure (NaN equal to NaN).</summary>
    private static bool SameImportance(LayerImportance a, LayerImportance b) =>
        a.Block == b.Block
        && a.AccuracyDrop.SequenceEqual(b.AccuracyDrop)
        && a.MarginDrop.SequenceEqual(b.MarginDrop)
        && a.AccuracyVariance.Equals(b.AccuracyVariance)
        && a.AccuracyCv.Equals(b.AccuracyCv)
        && a.MarginVariance.Equals(b.MarginVariance)
        && a.MarginCv.Equals(b.MarginCv)
        && a.AccuracyNoise.Equals(b.AccuracyNoise)
        && a.MarginNoise.Equals(b.MarginNoise);
}
