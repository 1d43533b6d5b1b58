using HilBench.Bnn.Layers;
using HilBench.Bnn.Model;
using HilBench.Bnn.Tensors;
using HilBench.Memory.Images;
using HilBench.Memory.Tests.Support;

namespace HilBench.Memory.Tests.Images;

[TestFixture]
public class WeightImageTests
{
    private static IEnumerable<TestCaseData> Models()
    {
        foreach (bool thresholds in new[] { false, true })
        {
            yield return new TestCaseData("dense64,dense32,dense10", new TensorShape(8, 8, 1), thresholds).SetArgDisplayNames("mlp", thresholds ? "thresholds" : "weights");
            yield return new TestCaseData("conv8,pool,conv16,pool,dense32,dense10", new TensorShape(8, 8, 2), thresholds).SetArgDisplayNames("conv", thresholds ? "thresholds" : "weights");
            yield return new TestCaseData("conv4,conv4,pool,dense10", new TensorShape(6, 6, 3), thresholds).SetArgDisplayNames("conv-unpooled", thresholds ? "thresholds" : "weights");
        }
    }

    /// <summary>Image -> model with a template of the same shape but other weights: everything the image holds comes from the image.</summary>
    [TestCaseSource(nameof(Models))]
    public void ModelToImageToModelIsExact(string spec, TensorShape input, bool includeThresholds)
    {
        var model = ModelBuilder.FromSpec(spec, input, new Random(11));
        var template = ModelBuilder.FromSpec(spec, input, new Random(12));
        var image = WeightImage.FromModel(model, includeThresholds);
        Assert.That(image.Layout.IncludesThresholds, Is.EqualTo(includeThresholds));

        var back = image.ToModel(template);
        Assert.That(back.Describe(), Is.EqualTo(model.Describe()));
        Assert.That(back.Blocks, Has.Count.EqualTo(model.Blocks.Count));
        for (int b = 0; b < model.Blocks.Count; b++)
        {
            Assert.That(back.Blocks[b].Linear.Weights, Is.EqualTo(model.Blocks[b].Linear.Weights), $"block {b} weights");
            Assert.That(back.Blocks[b].Linear.Weights, Is.Not.EqualTo(template.Blocks[b].Linear.Weights), $"block {b}: the template's weights must not leak through");
            if (model.Blocks[b].Threshold is not { } t) continue;
            var bt = back.Blocks[b].Threshold!;
            // Thresholds travel in the image only when included; orientations always come from the template.
            Assert.That(bt.Thresholds, Is.EqualTo(includeThresholds ? t.Thresholds : template.Blocks[b].Threshold!.Thresholds), $"block {b} thresholds");
            Assert.That(bt.Ascending, Is.EqualTo(template.Blocks[b].Threshold!.Ascending), $"block {b} orientations");
        }

        // With the model itself as template the round trip is the identity on every layer.
        AssertSameModel(image.ToModel(model), model);
    }

    [Test]
    public void ThresholdsOutsideSixteenBitsUseThirtyTwoBitWordsAndRoundTrip()
    {
        var model = TestImages.SmallMlp(3);
        int[] wide = [int.MinValue, int.MaxValue, -40000, 40000, -1, 0, 32767, -32768];
        var t0 = model.Blocks[0].Threshold!;
        var values = Enumerable.Range(0, t0.Thresholds.Length).Select(i => wide[i % wide.Length]).ToArray();
        var t1 = model.Blocks[1].Threshold!;
        var narrow = Enumerable.Range(0, t1.Thresholds.Length).Select(i => i % 2 == 0 ? short.MinValue : (int)short.MaxValue).ToArray();
        var layers = model.Layers.Select(l => l == t0 ? new ThresholdLayer(t0.InputShape, values, t0.Ascending)
            : l == t1 ? new ThresholdLayer(t1.InputShape, narrow, t1.Ascending) : l).ToList();
        var big = new BnnModel(model.InputShape, layers, model.LogitScale, model.Metadata);

        var image = WeightImage.FromModel(big, includeThresholds: true);
        var thresholdRegions = image.Layout.Regions.Where(r => r.Kind == RegionKind.Thresholds).ToArray();
        Assert.That(thresholdRegions.Select(r => (r.Block, r.BitsPerRow)), Is.EqualTo(new[] { (0, 32), (1, 16) }),
            "block 0 holds values outside [-32768, 32767] (32-bit words), block 1 fits exactly at the 16-bit limits");
        AssertSameModel(image.ToModel(big), big);
    }

    [Test]
    public void RealMlpLayoutAndRoundTrip()
    {
        var mlp = Repo.Mlp;
        var image = WeightImage.FromModel(mlp, includeThresholds: true);
        var regions = image.Layout.Regions;
        // Weights first, in block order, then thresholds: a pattern over the weights does not move when thresholds are added.
        Assert.That(regions.Select(r => (r.Block, r.Kind, r.Offset, r.Rows, r.BitsPerRow)), Is.EqualTo(new[]
        {
            (0, RegionKind.Weights, 0L, 2048, 784),
            (1, RegionKind.Weights, 1_605_632L, 2048, 2048),
            (2, RegionKind.Weights, 5_799_936L, 10, 2048),
            (0, RegionKind.Thresholds, 5_820_416L, 2048, ThresholdWidth(mlp.Blocks[0].Threshold!)),
            (1, RegionKind.Thresholds, 5_820_416L + 2048L * ThresholdWidth(mlp.Blocks[0].Threshold!), 2048, ThresholdWidth(mlp.Blocks[1].Threshold!)),
        }));
        // The pixel layer's thresholds are large (sums over 8-bit pixels) but here still fit 16 bits.
        var pixel = mlp.Blocks[0].Threshold!.Thresholds;
        TestContext.Out.WriteLine($"real MLP pixel-layer thresholds span [{pixel.Min()}, {pixel.Max()}] -> {regions[3].BitsPerRow}-bit words");
        Assert.That(pixel.Max(v => Math.Abs((long)v)), Is.GreaterThan(255), "the pixel layer's thresholds are on the scale of pixel sums");
        Assert.That(image.BitCount, Is.EqualTo(mlp.WeightBits + regions[3].Length + regions[4].Length));

        var weightsOnly = WeightImage.FromModel(mlp);
        Assert.That(weightsOnly.BitCount, Is.EqualTo(mlp.WeightBits));
        Assert.That(weightsOnly.Layout.Regions, Is.EqualTo(regions.Take(3)));
        AssertSameModel(image.ToModel(mlp), mlp);
    }

    [Test]
    public void LocateGivesRegionRowAndColumn()
    {
        var model = TestImages.SmallConv();
        var layout = WeightImage.LayoutOf(model, thresholds: true);
        long next = 0;
        foreach (var r in layout.Regions)
        {
            Assert.That(r.Offset, Is.EqualTo(next), $"{r.Name} is contiguous with the region before");
            next = r.End;
            Assert.That(layout.Locate(r.Offset), Is.EqualTo(new ImageLocation(r, 0, 0)));
            Assert.That(layout.Locate(r.End - 1), Is.EqualTo(new ImageLocation(r, r.Rows - 1, r.BitsPerRow - 1)));
            if (r.Rows > 2) Assert.That(layout.Locate(r.Offset + 2L * r.BitsPerRow + 1), Is.EqualTo(new ImageLocation(r, 2, 1)));
        }
        Assert.That(layout.BitCount, Is.EqualTo(next));
        Assert.That(() => layout.Locate(layout.BitCount), Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(() => layout.Locate(-1), Throws.TypeOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void LayoutsWithAndWithoutThresholdsShareTheWeightRegions()
    {
        var model = TestImages.SmallConv();
        var weights = WeightImage.LayoutOf(model, thresholds: false);
        var all = WeightImage.LayoutOf(model, thresholds: true);
        Assert.That(weights.Regions.All(r => r.Kind == RegionKind.Weights), Is.True);
        Assert.That(weights.Regions.Select(r => r.Block), Is.EqualTo(Enumerable.Range(0, model.Blocks.Count)), "weights in block order");
        Assert.That(all.Regions.Take(weights.Regions.Count), Is.EqualTo(weights.Regions));
        Assert.That(all.Regions.Skip(weights.Regions.Count).Select(r => (r.Kind, r.Block, r.BitsPerRow)),
            Is.EqualTo(model.Blocks.Where(b => b.Threshold is not null).Select(b => (RegionKind.Thresholds, b.Index, 16))),
            "then one 16-bit threshold word per channel of every hidden block (random thresholds are small)");
    }

    [TestCase(0, 5, 17)]
    [TestCase(1, 31, 63)]
    [TestCase(2, 9, 31)]
    [TestCase(0, 63, 63)]
    public void FlippingAnImageBitChangesExactlyThatWeight(int block, int neuron, int input)
    {
        var model = TestImages.SmallMlp(5);
        var image = WeightImage.FromModel(model, includeThresholds: true);
        var region = image.Layout.Regions.Single(r => r.Block == block && r.Kind == RegionKind.Weights);
        long bit = region.Offset + (long)neuron * region.BitsPerRow + input;
        Assert.That(image.Layout.Locate(bit), Is.EqualTo(new ImageLocation(region, neuron, input)));
        Assert.That(image[bit], Is.EqualTo(model.Blocks[block].Linear.Weights[neuron, input]));

        image[bit] = !image[bit];
        var back = image.ToModel(model);
        for (int b = 0; b < model.Blocks.Count; b++)
        {
            var expected = model.Blocks[b].Linear.Weights.Clone();
            if (b == block) expected[neuron, input] = !expected[neuron, input];
            Assert.That(back.Blocks[b].Linear.Weights, Is.EqualTo(expected), $"block {b}");
            if (model.Blocks[b].Threshold is { } t) Assert.That(back.Blocks[b].Threshold!.Thresholds, Is.EqualTo(t.Thresholds));
        }
    }

    [Test]
    public void FlippingAThresholdBitChangesThatThreshold()
    {
        var model = TestImages.SmallMlp(5);
        var image = WeightImage.FromModel(model, includeThresholds: true);
        var region = image.Layout.Regions.Single(r => r.Block == 1 && r.Kind == RegionKind.Thresholds);
        int channel = 7;
        long sign = region.Offset + (long)channel * region.BitsPerRow + region.BitsPerRow - 1;
        image[sign] = !image[sign];
        var back = image.ToModel(model);
        int before = model.Blocks[1].Threshold!.Thresholds[channel];
        // Flipping the sign bit of a 16-bit two's-complement word moves the value by 2^15.
        Assert.That(back.Blocks[1].Threshold!.Thresholds[channel], Is.EqualTo(before < 0 ? before + 32768 : before - 32768));
        Assert.That(back.Blocks[0].Threshold!.Thresholds, Is.EqualTo(model.Blocks[0].Threshold!.Thresholds));
    }

    [Test]
    public void ToModelRefusesAModelOfAnotherShape()
    {
        var image = WeightImage.FromModel(TestImages.SmallMlp());
        var other = ModelBuilder.FromSpec("dense64,dense16,dense10", new TensorShape(8, 8, 1), new Random(1));
        Assert.That(() => image.ToModel(other), Throws.ArgumentException
            .With.Message.Contains("does not fit model").And.Message.Contains(other.Describe()));
        var conv = TestImages.SmallConv();
        Assert.That(() => image.ToModel(conv), Throws.ArgumentException.With.Message.Contains("its layout differs"));
    }

    [Test]
    public void CloneDistanceAndCopy()
    {
        var image = WeightImage.FromModel(TestImages.SmallMlp());
        var copy = image.Clone();
        Assert.That(copy.ContentEquals(image), Is.True);
        copy[3] = !copy[3];
        copy[5000] = !copy[5000];
        Assert.That(copy.ContentEquals(image), Is.False);
        Assert.That(copy.Distance(image), Is.EqualTo(2));
        Assert.That(image[3], Is.Not.EqualTo(copy[3]), "a clone does not share bits with its source");
        copy.CopyFrom(image);
        Assert.That(copy.Distance(image), Is.Zero);
        Assert.That(() => image[image.BitCount], Throws.TypeOf<ArgumentOutOfRangeException>());
        var other = WeightImage.FromModel(TestImages.SmallConv());
        Assert.That(() => image.Distance(other), Throws.ArgumentException);
        Assert.That(() => image.CopyFrom(other), Throws.ArgumentException);
    }

    private static int ThresholdWidth(ThresholdLayer t) => t.Thresholds.All(v => v is >= short.MinValue and <= short.MaxValue) ? 16 : 32;

    private static void AssertSameModel(BnnModel actual, BnnModel expected)
    {
        Assert.That(actual.Layers, Has.Count.EqualTo(expected.Layers.Count));
        for (int i = 0; i < expected.Layers.Count; i++)
        {
            var (a, e) = (actual.Layers[i], expected.Layers[i]);
            Assert.That(a.GetType(), Is.EqualTo(e.GetType()), $"layer {i}");
            Assert.That(a.InputShape, Is.EqualTo(e.InputShape), $"layer {i}");
            switch (e)
            {
                case WeightLayer w:
                    Assert.That(((WeightLayer)a).Weights, Is.EqualTo(w.Weights), $"layer {i} weights");
                    break;
                case ThresholdLayer t:
                    Assert.That(((ThresholdLayer)a).Thresholds, Is.EqualTo(t.Thresholds), $"layer {i} thresholds");
                    Assert.That(((ThresholdLayer)a).Ascending, Is.EqualTo(t.Ascending), $"layer {i} orientations");
                    break;
            }
        }
        Assert.That(actual.LogitScale, Is.EqualTo(expected.LogitScale));
    }
}
