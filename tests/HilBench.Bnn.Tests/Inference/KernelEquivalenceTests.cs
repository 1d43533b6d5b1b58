using HilBench.Bnn.Inference;
using HilBench.Bnn.Kernels;
using HilBench.Bnn.Layers;
using HilBench.Bnn.Model;
using HilBench.Bnn.Tensors;
using NUnit.Framework;

namespace HilBench.Bnn.Tests.Inference;

/// <summary>Every kernel path this CPU supports must reproduce the plain reference bit for bit.</summary>
[TestFixture]
public class KernelEquivalenceTests
{
    private static IEnumerable<KernelPath> Paths => KernelPaths.Supported();

    /// <summary>Every supported path, and the 512-bit path once more with binary layers forced onto the XOR-popcount kernel.</summary>
    private static IEnumerable<(KernelPath Path, bool Lookup)> Variants =>
        Paths.Select(p => (p, true)).Concat(Paths.Where(p => p == KernelPath.Vector512).Select(p => (p, false)));

    internal static byte[] RandomPixels(int count, TensorShape shape, int seed)
    {
        var r = new Random(seed);
        var px = new byte[count * shape.Size];
        r.NextBytes(px);
        // Fashion-MNIST-like: many zero pixels and a few saturated ones, so sums of every size occur.
        for (int i = 0; i < px.Length; i++)
        {
            int k = r.Next(10);
            if (k < 4) px[i] = 0;
            else if (k == 4) px[i] = 255;
        }
        return px;
    }

    private static void AssertSameAsReference(BnnModel model, int count, int seed, int threads = 1) =>
        AssertSameAsReference(model, RandomPixels(count, model.InputShape, seed), count, threads);

    private static void AssertSameAsReference(BnnModel model, byte[] px, int count, int threads = 1)
    {
        var reference = ReferenceInference.Run(model, px, count, captureLayers: true);
        foreach (var (path, lookup) in Variants)
        {
            var result = new InferenceEngine(model, path, lookup).Run(px, count, threads, captureLayers: true);
            string name = lookup ? path.ToString() : $"{path} without lookup kernels";
            Assert.That(result.Logits, Is.EqualTo(reference.Logits), $"logits on {name}");
            Assert.That(result.Predictions, Is.EqualTo(reference.Predictions), $"predictions on {name}");
            for (int b = 0; b < model.Blocks.Count; b++)
            {
                Assert.That(result.Layers![b].PreActivations, Is.EqualTo(reference.Layers![b].PreActivations), $"block {b} pre-activations on {name}");
                Assert.That(result.Layers[b].Outputs?.Words, Is.EqualTo(reference.Layers[b].Outputs?.Words), $"block {b} outputs on {name}");
            }
        }
    }

    [Test]
    public void ScalarPathIsAlwaysAvailable() => Assert.That(Paths, Does.Contain(KernelPath.Scalar));

    [Test]
    public void Mlp784_2048_2048_10MatchesReference() =>
        AssertSameAsReference(ModelBuilder.Mlp(new Random(1)), count: 13, seed: 2);

    [Test]
    public void FashionMnistImagesMatchReference()
    {
        // Real images have all-zero background regions, which the pixel kernel skips.
        var test = HilBench.Bnn.Data.IdxDataset.LoadTest(HilBench.Bnn.Data.IdxDataset.DefaultDirectory()).Take(37);
        AssertSameAsReference(ModelBuilder.Mlp(new Random(11)), test.Pixels, test.Count);
        AssertSameAsReference(ModelBuilder.Vgg3(new Random(12)), test.Take(6).Pixels, 6);
    }

    [Test]
    public void FanInBeyondSixteenBitCountersMatchesReference()
    {
        // One pixel fans out to 65,600 neurons; a non-zero pixel sets them to the first layer's weight bits, a zero
        // pixel to +1. Neuron o of the second layer holds the complement of those bits with o + 1 of them flipped,
        // so on a non-zero pixel it disagrees with 65,599 - o inputs: more than 16-bit counters hold.
        const int n = 65_600, outs = 40;
        var input = new TensorShape(1, 1, 1);
        var first = BitMatrix.Random(n, 1, new Random(21));
        var second = new BitMatrix(outs, n);
        for (int o = 0; o < outs; o++)
        {
            for (int i = 0; i < n; i++) second[o, i] = !first[i, 0];
            for (int i = 0; i <= o; i++) second[o, 1000 * i] = first[1000 * i, 0];
        }
        var hidden = TensorShape.Vector(n);
        var model = new BnnModel(input, [
            new BinaryDense(input, first),
            new ThresholdLayer(hidden, new int[n], Enumerable.Repeat(true, n).ToArray()),
            new BinaryDense(hidden, second),
        ]);
        AssertSameAsReference(model, [7, 0, 255, 1, 0], 5);
        var logits = ReferenceInference.Run(model, [7], 1).Logits;
        Assert.That(logits[0], Is.EqualTo(n - 2 * (n - 1)), "the reference itself: neuron 0 disagrees with all inputs but one");
    }

    [Test]
    public void LookupKernelRefusesAFanInItCannotCount() =>
        Assert.That(() => new BinaryLutGemm(new BitMatrix(64, 65_536)), Throws.ArgumentException.With.Message.Contains("at most 65535 inputs"));

    [Test]
    public void WeightsWithPaddingBitsSetAreRefused()
    {
        var model = ModelBuilder.FromSpec("dense100,dense10", new TensorShape(8, 8, 1), new Random(15));
        var weights = model.Blocks[1].Linear.Weights;
        weights.Words[weights.WordsPerRow - 1] |= 1UL << 63; // row 0, past column 99
        Assert.That(() => new InferenceEngine(model), Throws.ArgumentException.With.Message.Contains("block 1").And.Message.Contains("padding"));
    }

    [Test]
    public void ImagesWithBlankRegionsMatchReference()
    {
        var model = ModelBuilder.FromSpec("dense100,dense10", new TensorShape(8, 8, 1), new Random(13));
        var px = RandomPixels(11, model.InputShape, 14);
        for (int i = 0; i < 11; i++)
            for (int p = 0; p < 64; p++)
                if (p < 8 * (i % 5) || i == 3) px[i * 64 + p] = 0; // blank top rows of growing height, one blank image
        AssertSameAsReference(model, px, 11);
    }

    [Test]
    public void Vgg3MatchesReference() =>
        AssertSameAsReference(ModelBuilder.Vgg3(new Random(3)), count: 5, seed: 4);

    [Test]
    public void MultiThreadedRunMatchesReference() =>
        AssertSameAsReference(ModelBuilder.FromSpec("dense300,dense100,dense10", new TensorShape(8, 8, 1), new Random(5)), count: 203, seed: 6, threads: 2);

    [TestCase(1)]
    [TestCase(3)]
    [TestCase(63)]
    [TestCase(64)]
    [TestCase(65)]
    [TestCase(127)]
    [TestCase(1000)]
    public void OddFanInsMatchReference(int fanIn)
    {
        // fanIn pixels in the first layer, fanIn binary inputs in the second and third.
        var model = ModelBuilder.FromSpec($"dense{fanIn},dense{fanIn},dense7", TensorShape.Vector(fanIn), new Random(fanIn));
        AssertSameAsReference(model, count: 9, seed: fanIn + 1);
    }

    [TestCase(1, 1, 1)]
    [TestCase(2, 2, 3)]
    [TestCase(3, 5, 2)]
    [TestCase(7, 7, 65)]
    [TestCase(14, 14, 64)]
    [TestCase(28, 28, 1)]
    public void ConvFeatureMapsMatchReference(int h, int w, int c)
    {
        string spec = h >= 2 && w >= 2 ? "conv5,pool,conv70,dense33,dense4" : "conv5,conv70,dense33,dense4";
        var model = ModelBuilder.FromSpec(spec, new TensorShape(h, w, c), new Random(h * 100 + w * 10 + c));
        AssertSameAsReference(model, count: 6, seed: h + w + c);
    }

    /// <summary>Binary convs whose input channels fill whole words (64, 128) gather taps as word copies; maps down to 1x1 have every kind of border.</summary>
    [TestCase("conv64,conv128,conv64,dense4", 1, 1)]
    [TestCase("conv64,conv128,conv64,dense4", 2, 3)]
    [TestCase("conv128,pool,conv64,conv7,dense3", 6, 5)]
    public void WordAlignedConvChannelsMatchReference(string spec, int h, int w)
    {
        var model = ModelBuilder.FromSpec(spec, new TensorShape(h, w, 2), new Random(h * 10 + w));
        AssertSameAsReference(model, count: 5, seed: h + w);
    }

    /// <summary>
    /// Plain runs (no captured layers) compute a first conv block with pool and threshold in one fused kernel on the 512-bit
    /// path; its logits must equal the reference's, for 1 and 3 input channels, 32 to 96 outputs and odd map sizes.
    /// </summary>
    [TestCase("conv64,pool,conv64,pool,dense50,dense10", 28, 28, 1)]
    [TestCase("conv32,pool,dense20,dense5", 7, 9, 1)]
    [TestCase("conv96,pool,conv32,dense7", 5, 4, 3)]
    [TestCase("conv64,pool,dense9", 2, 2, 14)]
    public void FusedFirstConvBlockMatchesReference(string spec, int h, int w, int c)
    {
        var model = ModelBuilder.FromSpec(spec, new TensorShape(h, w, c), new Random(h * 100 + w * 10 + c));
        const int count = 37;
        var px = RandomPixels(count, model.InputShape, h + w + c);
        var reference = ReferenceInference.Run(model, px, count);
        foreach (var path in Paths)
        {
            var result = new InferenceEngine(model, path).Run(px, count, threads: 2);
            Assert.That(result.Logits, Is.EqualTo(reference.Logits), $"logits on {path}");
        }
    }

    /// <summary>
    /// The fused kernel against the reference's block-0 outputs, with thresholds at and beyond the ends of the 16-bit range in
    /// both orientations and saturated images, so the clamped thresholds and the largest sums are exercised.
    /// </summary>
    [TestCase(1)]
    [TestCase(3)]
    [TestCase(14)]
    public void FusedPixelKernelMatchesReferenceOutputs(int channels)
    {
        var random = new Random(channels);
        var model = ModelBuilder.FromSpec("conv64,pool,dense10", new TensorShape(6, 5, channels), random);
        var t = model.Blocks[0].Threshold!;
        int[] extremes = [int.MinValue, -40000, short.MinValue, short.MinValue + 1, -1, 0, 1, 9 * channels * 255, short.MaxValue, 40000, int.MaxValue];
        for (int o = 0; o < t.Thresholds.Length; o++)
        {
            if (o % 2 == 0) t.Thresholds[o] = extremes[o / 2 % extremes.Length];
            else t.Thresholds[o] = random.Next(-9 * channels * 255, 9 * channels * 255 + 1);
            t.Ascending[o] = o % 4 < 2;
        }
        const int count = 9;
        var px = RandomPixels(count, model.InputShape, 7);
        px.AsSpan(0, model.InputShape.Size).Fill(255); // the largest sums
        var reference = ReferenceInference.Run(model, px, count, captureLayers: true);
        Assert.That(PixelConvPool.Supports(model.Blocks[0], KernelPath.Vector512), Is.EqualTo(KernelPaths.IsSupported(KernelPath.Vector512)));
        if (!KernelPaths.IsSupported(KernelPath.Vector512)) Assert.Ignore("the fused kernel needs AVX-512BW");
        var kernel = new PixelConvPool(model.Blocks[0]);
        var padded = new byte[kernel.PaddedBytes];
        var expected = reference.Layers![0].Outputs!;
        var row = new ulong[expected.WordsPerRow];
        for (int i = 0; i < count; i++)
        {
            row.AsSpan().Clear();
            kernel.Run(px.AsSpan(i * model.InputShape.Size, model.InputShape.Size), padded, row);
            Assert.That(row, Is.EqualTo(expected.Words.AsSpan(i * row.Length, row.Length).ToArray()), $"image {i}");
        }
    }

    [Test]
    public void FusedKernelRefusesBlocksItCannotComputeExactly()
    {
        var random = new Random(1);
        Assert.That(PixelConvPool.Supports(ModelBuilder.FromSpec("conv48,pool,dense3", new TensorShape(4, 4, 1), random).Blocks[0], KernelPath.Vector512), Is.False, "outputs not a multiple of 32");
        Assert.That(PixelConvPool.Supports(ModelBuilder.FromSpec("conv64,dense3", new TensorShape(4, 4, 1), random).Blocks[0], KernelPath.Vector512), Is.False, "no pool");
        Assert.That(PixelConvPool.Supports(ModelBuilder.FromSpec("conv64,pool,dense3", new TensorShape(4, 4, 15), random).Blocks[0], KernelPath.Vector512), Is.False, "sums beyond 16 bits");
        Assert.That(PixelConvPool.Supports(ModelBuilder.FromSpec("conv64,pool,dense3", new TensorShape(4, 4, 1), random).Blocks[0], KernelPath.Vector256), Is.False, "256-bit path");
        Assert.That(PixelConvPool.Supports(ModelBuilder.FromSpec("dense64,dense3", new TensorShape(4, 4, 1), random).Blocks[0], KernelPath.Vector512), Is.False, "dense");
    }

    [Test]
    public void EmptyBatchGivesEmptyResult()
    {
        var engine = new InferenceEngine(ModelBuilder.FromSpec("dense8,dense3", TensorShape.Vector(5), new Random(1)));
        var r = engine.Run(Array.Empty<byte>(), 0);
        Assert.That(r.Count, Is.Zero);
        Assert.That(r.Logits, Is.Empty);
    }

    [Test]
    public void WrongInputLengthIsRefused()
    {
        var engine = new InferenceEngine(ModelBuilder.FromSpec("dense8,dense3", TensorShape.Vector(5), new Random(1)));
        Assert.That(() => engine.Run(new byte[11], 2), Throws.ArgumentException.With.Message.Contains("expected 2 images"));
    }

    [Test]
    public void LogitsTieGoesToLowestClass()
    {
        // All-zero weights give identical logits for every class.
        var layer = new BinaryDense(TensorShape.Vector(4), new BitMatrix(3, 4));
        var model = new BnnModel(TensorShape.Vector(4), [layer]);
        foreach (var path in Paths)
        {
            var r = new InferenceEngine(model, path).Run(new byte[] { 1, 2, 3, 4 }, 1);
            Assert.That(r.LogitsOf(0).ToArray(), Is.EqualTo(new[] { -10, -10, -10 }));
            Assert.That(r.Predictions[0], Is.Zero);
        }
    }
}
