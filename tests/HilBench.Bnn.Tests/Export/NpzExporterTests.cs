using System.Text;
using System.Text.Json;
using HilBench.Bnn.Export;
using HilBench.Bnn.Layers;
using HilBench.Bnn.Model;
using HilBench.Bnn.Tensors;
using NUnit.Framework;

namespace HilBench.Bnn.Tests.Export;

[TestFixture]
public sealed class NpzExporterTests
{
    private static byte[] ExportToBytes(BnnModel model)
    {
        using var ms = new MemoryStream();
        NpzExporter.Export(model, ms);
        return ms.ToArray();
    }

    private static Dictionary<string, NpyArray> Export(BnnModel model) => NpyTestReader.ReadNpz(ExportToBytes(model));

    private static BnnModel SmallMlp()
    {
        var meta = new ModelMetadata
        {
            Dataset = "toy",
            Training = new SortedDictionary<string, string>(StringComparer.Ordinal) { ["epochs"] = "3" },
            Extra = new SortedDictionary<string, string>(StringComparer.Ordinal) { ["note"] = "héllo \U0001F600" },
        };
        var input = new TensorShape(1, 1, 7);
        var random = new Random(3);
        var layers = new List<BnnLayer>
        {
            new BinaryDense(input, BitMatrix.Random(5, 7, random)),
            new ThresholdLayer(TensorShape.Vector(5), [-2, 0, 3, int.MinValue, 7], [true, false, true, true, false]),
            new BinaryDense(TensorShape.Vector(5), BitMatrix.Random(3, 5, random)),
        };
        return new BnnModel(input, layers, 0.25f, meta);
    }

    [Test]
    public void Small_mlp_exports_the_documented_arrays()
    {
        var model = SmallMlp();
        var npz = Export(model);
        Assert.That(npz.Keys, Is.EquivalentTo(new[]
        {
            "layer0.weight", "layer0.threshold", "layer0.ascending", "layer1.weight",
            "logit_scale", "input_shape", "architecture", "architecture_json",
        }));
        foreach (var (name, array) in npz) Assert.That(array.FortranOrder, Is.False, name);

        var expectedDtypes = new Dictionary<string, string>
        {
            ["layer0.weight"] = "<f4", ["layer0.threshold"] = "<f4", ["layer0.ascending"] = "<f4", ["layer1.weight"] = "<f4",
            ["logit_scale"] = "<f4", ["input_shape"] = "<i4", ["architecture_json"] = "|u1",
        };
        foreach (var (name, dtype) in expectedDtypes) Assert.That(npz[name].Descr, Is.EqualTo(dtype), name);
        Assert.That(npz["architecture"].Descr, Does.Match(@"^<U\d+$"));

        Assert.That(npz["layer0.weight"].Shape, Is.EqualTo(new[] { 5, 7 }));
        Assert.That(npz["layer1.weight"].Shape, Is.EqualTo(new[] { 3, 5 }));
        Assert.That(npz["layer0.threshold"].Shape, Is.EqualTo(new[] { 5 }));
        Assert.That(npz["layer0.ascending"].Shape, Is.EqualTo(new[] { 5 }));
        Assert.That(npz["logit_scale"].Shape, Is.Empty);
        Assert.That(npz["input_shape"].Shape, Is.EqualTo(new[] { 3 }));
        Assert.That(npz["architecture"].Shape, Is.Empty);

        for (int b = 0; b < 2; b++)
        {
            var bits = model.Blocks[b].Linear.Weights;
            var w = npz[$"layer{b}.weight"].Float32();
            for (int o = 0; o < bits.Rows; o++)
                for (int i = 0; i < bits.Columns; i++)
                    Assert.That(w[o * bits.Columns + i], Is.EqualTo((float)bits.Sign(o, i)), $"layer{b}.weight[{o},{i}]");
        }
        Assert.That(npz["layer0.threshold"].Float32(), Is.EqualTo(new[] { -2f, 0f, 3f, int.MinValue, 7f }));
        Assert.That(npz["layer0.ascending"].Float32(), Is.EqualTo(new[] { 1f, 0f, 1f, 1f, 0f }));
        Assert.That(npz["logit_scale"].Float32(), Is.EqualTo(new[] { 0.25f }));
        Assert.That(npz["input_shape"].Int32(), Is.EqualTo(new[] { 7, 1, 1 }));
    }

    [Test]
    public void Architecture_is_the_same_json_as_unicode_and_as_bytes()
    {
        var model = SmallMlp();
        var npz = Export(model);
        string text = npz["architecture"].Unicode();
        Assert.That(npz["architecture"].Descr, Is.EqualTo($"<U{text.EnumerateRunes().Count()}"));
        Assert.That(Encoding.UTF8.GetString(npz["architecture_json"].Data), Is.EqualTo(text));

        using var doc = JsonDocument.Parse(text);
        var root = doc.RootElement;
        Assert.That(root.GetProperty("format").GetString(), Is.EqualTo("hilbench-bnn-npz"));
        Assert.That(root.GetProperty("logit_scale").GetSingle(), Is.EqualTo(0.25f));
        Assert.That(root.GetProperty("input_shape_chw").EnumerateArray().Select(e => e.GetInt32()), Is.EqualTo(new[] { 7, 1, 1 }));
        var layers = root.GetProperty("layers").EnumerateArray().ToArray();
        Assert.That(layers, Has.Length.EqualTo(2));
        Assert.That(layers[0].GetProperty("kind").GetString(), Is.EqualTo("dense"));
        Assert.That(layers[0].GetProperty("threshold").GetProperty("threshold").GetString(), Is.EqualTo("layer0.threshold"));
        Assert.That(layers[1].GetProperty("threshold").ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(layers[1].GetProperty("weight_shape").EnumerateArray().Select(e => e.GetInt32()), Is.EqualTo(new[] { 3, 5 }));
        Assert.That(root.GetProperty("metadata").GetProperty("extra").GetProperty("note").GetString(), Is.EqualTo("héllo \U0001F600"));
    }

    [Test]
    public void Conv_weights_are_OIHW()
    {
        var model = ModelBuilder.FromSpec("conv3,pool,dense4,dense2", new TensorShape(4, 6, 2), new Random(5));
        var conv = (BinaryConv2d)model.Blocks[0].Linear;
        var npz = Export(model);
        Assert.That(npz["layer0.weight"].Shape, Is.EqualTo(new[] { 3, 2, 3, 3 }));
        var w = npz["layer0.weight"].Float32();
        for (int o = 0; o < 3; o++)
            for (int c = 0; c < 2; c++)
                for (int kh = 0; kh < 3; kh++)
                    for (int kw = 0; kw < 3; kw++)
                        Assert.That(w[((o * 2 + c) * 3 + kh) * 3 + kw], Is.EqualTo((float)conv.Weights.Sign(o, conv.Column(kh, kw, c))),
                            $"weight[{o},{c},{kh},{kw}]");
        Assert.That(npz["layer0.threshold"].Shape, Is.EqualTo(new[] { 3 }));
        Assert.That(npz["input_shape"].Int32(), Is.EqualTo(new[] { 2, 4, 6 }));
    }

    [Test]
    public void Dense_after_a_feature_map_has_its_columns_permuted_from_HWC_to_CHW()
    {
        // 4x6x2 -> conv3 -> 4x6x3 -> pool -> 2x3x3 (H=2, W=3, C=3: all different, so a wrong permutation shows).
        var model = ModelBuilder.FromSpec("conv3,pool,dense4,dense2", new TensorShape(4, 6, 2), new Random(5));
        var dense = model.Blocks[1].Linear;
        const int H = 2, W = 3, C = 3;
        var npz = Export(model);
        Assert.That(npz["layer1.weight"].Shape, Is.EqualTo(new[] { 4, H * W * C }));
        var w = npz["layer1.weight"].Float32();
        for (int o = 0; o < 4; o++)
            for (int c = 0; c < C; c++)
                for (int h = 0; h < H; h++)
                    for (int x = 0; x < W; x++)
                        Assert.That(w[o * H * W * C + (c * H + h) * W + x], Is.EqualTo((float)dense.Weights.Sign(o, (h * W + x) * C + c)),
                            $"PyTorch column (c={c},h={h},w={x})");

        // The same +-1 activations give the same dot products in both orders.
        var random = new Random(8);
        var hwc = Enumerable.Range(0, H * W * C).Select(_ => random.Next(2) * 2 - 1).ToArray();
        var chw = new int[hwc.Length];
        for (int c = 0; c < C; c++)
            for (int h = 0; h < H; h++)
                for (int x = 0; x < W; x++)
                    chw[(c * H + h) * W + x] = hwc[(h * W + x) * C + c];
        for (int o = 0; o < 4; o++)
        {
            int hilbench = 0, torch = 0;
            for (int q = 0; q < hwc.Length; q++) hilbench += dense.Weights.Sign(o, q) * hwc[q];
            for (int p = 0; p < chw.Length; p++) torch += (int)w[o * chw.Length + p] * chw[p];
            Assert.That(torch, Is.EqualTo(hilbench), $"output {o}");
        }

        // The output layer reads a vector: no permutation.
        var outBits = model.Blocks[2].Linear.Weights;
        var wOut = npz["layer2.weight"].Float32();
        for (int o = 0; o < outBits.Rows; o++)
            for (int i = 0; i < outBits.Columns; i++)
                Assert.That(wOut[o * outBits.Columns + i], Is.EqualTo((float)outBits.Sign(o, i)));

        using var doc = JsonDocument.Parse(npz["architecture"].Unicode());
        var layers = doc.RootElement.GetProperty("layers").EnumerateArray().ToArray();
        Assert.That(layers[0].GetProperty("pool").GetProperty("kind").GetString(), Is.EqualTo("maxpool2x2"));
        var flatten = layers[1].GetProperty("flatten");
        Assert.That(flatten.GetProperty("order").GetString(), Is.EqualTo("CHW"));
        Assert.That(flatten.GetProperty("from_shape_chw").EnumerateArray().Select(e => e.GetInt32()), Is.EqualTo(new[] { C, H, W }));
        Assert.That(layers[2].GetProperty("flatten").ValueKind, Is.EqualTo(JsonValueKind.Null));
    }

    [Test]
    public void Column_map_is_a_permutation()
    {
        var map = NpzExporter.ChwToHwcColumns(new TensorShape(3, 5, 4));
        Assert.That(map.Order(), Is.EqualTo(Enumerable.Range(0, 60)));
        Assert.That(NpzExporter.ChwToHwcColumns(new TensorShape(5, 5, 1)), Is.EqualTo(Enumerable.Range(0, 25)), "one channel: identity");
    }

    [Test]
    public void Vgg3_exports_pytorch_shapes()
    {
        var npz = Export(ModelBuilder.Vgg3(new Random(1)));
        Assert.That(npz["layer0.weight"].Shape, Is.EqualTo(new[] { 64, 1, 3, 3 }));
        Assert.That(npz["layer1.weight"].Shape, Is.EqualTo(new[] { 64, 64, 3, 3 }));
        Assert.That(npz["layer2.weight"].Shape, Is.EqualTo(new[] { 2048, 3136 }));
        Assert.That(npz["layer3.weight"].Shape, Is.EqualTo(new[] { 10, 2048 }));
        Assert.That(npz["layer0.threshold"].Shape, Is.EqualTo(new[] { 64 }));
        Assert.That(npz["layer1.ascending"].Shape, Is.EqualTo(new[] { 64 }));
        Assert.That(npz["layer2.threshold"].Shape, Is.EqualTo(new[] { 2048 }));
        Assert.That(npz.ContainsKey("layer3.threshold"), Is.False);
        Assert.That(npz["input_shape"].Int32(), Is.EqualTo(new[] { 1, 28, 28 }));
    }

    [Test]
    public void Export_is_deterministic()
    {
        var a = ExportToBytes(ModelBuilder.FromSpec("conv3,pool,dense4,dense2", new TensorShape(4, 6, 2), new Random(5)));
        var b = ExportToBytes(ModelBuilder.FromSpec("conv3,pool,dense4,dense2", new TensorShape(4, 6, 2), new Random(5)));
        Assert.That(b, Is.EqualTo(a));
    }

    [Test]
    public void Export_to_path_replaces_the_file_atomically()
    {
        string dir = Path.Combine(Path.GetTempPath(), "hilbench-npz-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string path = Path.Combine(dir, "model.npz");
            File.WriteAllText(path, "stale");
            var model = SmallMlp();
            NpzExporter.Export(model, path);
            Assert.That(File.Exists(path + ".tmp"), Is.False);
            Assert.That(File.ReadAllBytes(path), Is.EqualTo(ExportToBytes(model)));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
