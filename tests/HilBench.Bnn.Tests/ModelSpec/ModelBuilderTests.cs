using HilBench.Bnn.Layers;
using HilBench.Bnn.Model;
using HilBench.Bnn.Tensors;
using NUnit.Framework;

namespace HilBench.Bnn.Tests.ModelSpec;

[TestFixture]
public class ModelBuilderTests
{
    [Test]
    public void MlpIs784_2048_2048_10()
    {
        var m = ModelBuilder.Mlp(new Random(1));
        Assert.That(m.Blocks.Select(b => b.Linear.Outputs), Is.EqualTo(new[] { 2048, 2048, 10 }));
        Assert.That(m.Blocks[0].Linear.FanIn, Is.EqualTo(784));
        Assert.That(m.WeightBits, Is.EqualTo(784L * 2048 + 2048L * 2048 + 2048L * 10));
        Assert.That(m.Blocks[^1].IsOutput, Is.True);
        Assert.That(m.Blocks[0].ReadsPixels, Is.True);
    }

    [Test]
    public void Vgg3IsConv64PoolConv64PoolFc2048Fc10()
    {
        var m = ModelBuilder.Vgg3(new Random(1));
        Assert.That(m.Blocks, Has.Count.EqualTo(4));
        Assert.That(m.Blocks[0].Linear, Is.TypeOf<BinaryConv2d>());
        Assert.That(m.Blocks[0].OutputShape, Is.EqualTo(new TensorShape(14, 14, 64)));
        Assert.That(m.Blocks[1].OutputShape, Is.EqualTo(new TensorShape(7, 7, 64)));
        Assert.That(m.Blocks[2].Linear.FanIn, Is.EqualTo(7 * 7 * 64));
        Assert.That(m.Blocks[3].Linear.Outputs, Is.EqualTo(10));
        Assert.That(m.Classes, Is.EqualTo(10));
    }

    [Test]
    public void SameSeedSameModel()
    {
        var a = ModelBuilder.Vgg3(new Random(5));
        var b = ModelBuilder.Vgg3(new Random(5));
        for (int i = 0; i < a.Blocks.Count; i++) Assert.That(a.Blocks[i].Linear.Weights, Is.EqualTo(b.Blocks[i].Linear.Weights));
    }

    [TestCase("c8,p,d16,d4", 3)]
    [TestCase("conv8,pool,dense16,dense4", 3)]
    [TestCase("dense4", 1)]
    public void SpecsBuild(string spec, int blocks) =>
        Assert.That(ModelBuilder.FromSpec(spec, new TensorShape(6, 6, 2), new Random(1)).Blocks, Has.Count.EqualTo(blocks));

    [TestCase("", "empty")]
    [TestCase("dense10,conv4", "last layer")]
    [TestCase("dense4,conv4,dense2", "cannot follow a dense")]
    [TestCase("pool,dense4", "pool must directly follow a conv")]
    [TestCase("dense0", "positive size")]
    [TestCase("lstm8,dense2", "unknown layer 'lstm8'")]
    public void BadSpecsAreRefusedWithAReason(string spec, string reason) =>
        Assert.That(() => ModelBuilder.FromSpec(spec, new TensorShape(6, 6, 2), new Random(1)), Throws.TypeOf<FormatException>().With.Message.Contains(reason));

    [Test]
    public void LayersThatDoNotFitAreRefused()
    {
        var shape = TensorShape.Vector(8);
        var dense = new BinaryDense(shape, new BitMatrix(4, 8));
        var wrongThreshold = new ThresholdLayer(TensorShape.Vector(5), new int[5], new bool[5]);
        Assert.That(() => new BnnModel(shape, [dense, wrongThreshold, new BinaryDense(TensorShape.Vector(4), new BitMatrix(2, 4))]),
            Throws.TypeOf<InvalidModelException>().With.Message.Contains("expects input 5"));
        Assert.That(() => new BnnModel(shape, [dense, new BinaryDense(TensorShape.Vector(4), new BitMatrix(2, 4))]),
            Throws.TypeOf<InvalidModelException>().With.Message.Contains("must be a threshold"));
        Assert.That(() => new BnnModel(shape, [dense], logitScale: 0), Throws.ArgumentException.With.Message.Contains("logit scale"));
    }

    [Test]
    public void WithWeightsKeepsShapesAndRefusesOthers()
    {
        var m = ModelBuilder.FromSpec("dense6,dense3", TensorShape.Vector(5), new Random(2));
        var w = m.Blocks.Select(b => BitMatrix.Random(b.Linear.Outputs, b.Linear.FanIn, new Random(9))).ToList();
        var m2 = m.WithWeights(w);
        Assert.That(m2.Blocks[1].Linear.Weights, Is.EqualTo(w[1]));
        Assert.That(m2.Blocks[0].Threshold!.Thresholds, Is.EqualTo(m.Blocks[0].Threshold!.Thresholds));
        w[0] = new BitMatrix(6, 4);
        Assert.That(() => m.WithWeights(w), Throws.ArgumentException.With.Message.Contains("block 0"));
    }
}
