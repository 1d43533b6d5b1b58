using HilBench.Bnn.Layers;
using HilBench.Bnn.Model;
using HilBench.Bnn.Tensors;
using NUnit.Framework;
using static HilBench.Bnn.Tests.Model.ModelFileTestSupport;

namespace HilBench.Bnn.Tests.Model;

[TestFixture]
public sealed class ModelFileRoundTripTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "hilbench-modelfile-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private static ModelMetadata RichMetadata() => new()
    {
        Dataset = "mnist",
        Training = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["epochs"] = "50",
            ["lr"] = "0.001",
            ["optimizer"] = "adam",
            ["note"] = "",
        },
        Extra = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["architecture"] = "mlp",
            ["author"] = "Zoë Ñandú 日本 \U0001F600",
            ["Zebra"] = "uppercase sorts before lowercase",
        },
    };

    [Test]
    public void Mlp_784_2048_2048_10_round_trips()
    {
        var model = ModelBuilder.Mlp(new Random(1)).WithMetadata(RichMetadata());
        var bytes = SaveToBytes(model);
        var loaded = LoadFromBytes(bytes);
        AssertModelsEqual(model, loaded);
        Assert.That(loaded.Describe(), Is.EqualTo(model.Describe()));
        // 48-byte header, 5 layer records, metadata and a 32-byte checksum; the weights dominate.
        Assert.That(bytes.LongLength, Is.GreaterThan(model.WeightBits / 8));
        TestContext.Out.WriteLine($"MLP 784-2048-2048-10 .hbnn size: {bytes.Length} bytes");
    }

    [Test]
    public void Vgg3_round_trips()
    {
        var model = ModelBuilder.Vgg3(new Random(2));
        AssertModelsEqual(model, LoadFromBytes(SaveToBytes(model)));
    }

    [TestCase("conv3,pool,dense5,dense3", 6, 6, 2)]
    [TestCase("dense3,dense2", 1, 1, 1)]                          // fan-in 1
    [TestCase("dense2", 1, 1, 63)]                                // fan-in 63, no hidden layer
    [TestCase("dense65,dense64,dense63,dense1,dense3", 1, 1, 65)] // fan-ins 65, 65, 64, 63, 1
    [TestCase("dense4,dense2", 8, 8, 1)]                          // fan-in 64: no padding bits
    [TestCase("conv7,pool,conv7,pool,dense4", 8, 8, 3)]           // conv fan-ins 27 and 63
    [TestCase("conv1,conv2,pool,dense1,dense2", 5, 3, 1)]         // odd map, pooling drops a row
    public void Odd_specs_round_trip(string spec, int height, int width, int channels)
    {
        var model = ModelBuilder.FromSpec(spec, new TensorShape(height, width, channels), new Random(spec.Length));
        AssertModelsEqual(model, LoadFromBytes(SaveToBytes(model)));
    }

    [Test]
    public void Extreme_thresholds_scale_and_metadata_round_trip()
    {
        var input = new TensorShape(1, 1, 3);
        var random = new Random(5);
        var layers = new List<BnnLayer>
        {
            new BinaryDense(input, BitMatrix.Random(4, 3, random)),
            new ThresholdLayer(TensorShape.Vector(4), [int.MinValue, int.MaxValue, 0, -7], [true, false, false, true]),
            new BinaryDense(TensorShape.Vector(4), BitMatrix.Random(2, 4, random)),
        };
        var model = new BnnModel(input, layers, 0.0123f, RichMetadata());
        var loaded = LoadFromBytes(SaveToBytes(model));
        AssertModelsEqual(model, loaded);
        Assert.That(loaded.LogitScale, Is.EqualTo(0.0123f));
    }

    [Test]
    public void Dense_after_conv_keeps_its_feature_map_input_shape()
    {
        var model = ModelBuilder.FromSpec("conv2,pool,dense3", new TensorShape(4, 4, 1), new Random(3));
        var loaded = LoadFromBytes(SaveToBytes(model));
        Assert.That(loaded.Layers[3].InputShape, Is.EqualTo(new TensorShape(2, 2, 2)));
        AssertModelsEqual(model, loaded);
    }

    [Test]
    public void Loaded_metadata_dictionaries_sort_ordinally()
    {
        var loaded = LoadFromBytes(SaveToBytes(ModelBuilder.Mlp(new Random(1), hidden: [8]).WithMetadata(RichMetadata())));
        Assert.That(loaded.Metadata.Extra.Keys, Is.EqualTo(new[] { "Zebra", "architecture", "author" }));
    }

    [Test]
    public void Saving_twice_gives_byte_identical_files()
    {
        var a = SaveToBytes(ModelBuilder.Vgg3(new Random(9)).WithMetadata(RichMetadata()));
        var b = SaveToBytes(ModelBuilder.Vgg3(new Random(9)).WithMetadata(RichMetadata()));
        Assert.That(b, Is.EqualTo(a));
    }

    [Test]
    public void Metadata_insertion_order_does_not_change_the_bytes()
    {
        var model = ModelBuilder.Mlp(new Random(4), hidden: [16]);
        var forward = new Dictionary<string, string> { ["a"] = "1", ["b"] = "2", ["B"] = "3", ["é"] = "4" };
        var backward = new Dictionary<string, string> { ["é"] = "4", ["B"] = "3", ["b"] = "2", ["a"] = "1" };
        var x = SaveToBytes(model.WithMetadata(new ModelMetadata { Dataset = "d", Training = forward, Extra = backward }));
        var y = SaveToBytes(model.WithMetadata(new ModelMetadata { Dataset = "d", Training = backward, Extra = forward }));
        Assert.That(y, Is.EqualTo(x));
    }

    [Test]
    public void Save_to_path_is_atomic_and_matches_the_stream_bytes()
    {
        var model = ModelBuilder.FromSpec("conv3,pool,dense5,dense3", new TensorShape(6, 6, 2), new Random(11));
        string path = Path.Combine(_dir, "model.hbnn");
        File.WriteAllText(path, "old contents to be replaced");
        ModelFile.Save(model, path);
        Assert.That(File.Exists(path + ".tmp"), Is.False, "the temporary file is renamed away");
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(SaveToBytes(model)));
        AssertModelsEqual(model, ModelFile.Load(path));
    }

    [Test]
    public void Tiny_model_has_the_documented_layout()
    {
        var bytes = SaveToBytes(Tiny());
        Assert.That(bytes, Has.Length.EqualTo(TinyLayout.Total));
        Assert.That(bytes[..8], Is.EqualTo(new byte[] { 0x48, 0x42, 0x4E, 0x4E, 0x0D, 0x0A, 0x1A, 0x0A }));
        Assert.That(BitConverter.ToUInt32(bytes, TinyLayout.Version), Is.EqualTo(ModelFile.FormatVersion));
        Assert.That(BitConverter.ToUInt32(bytes, TinyLayout.HeaderLength), Is.EqualTo(48u));
        Assert.That(BitConverter.ToUInt64(bytes, TinyLayout.FileLength), Is.EqualTo((ulong)TinyLayout.Total));
        Assert.That(BitConverter.ToUInt32(bytes, TinyLayout.LayerCount), Is.EqualTo(3u));
        Assert.That(BitConverter.ToUInt32(bytes, TinyLayout.Dense0Kind), Is.EqualTo(1u));
        Assert.That(BitConverter.ToInt32(bytes, TinyLayout.Dense0Rows), Is.EqualTo(3));
        Assert.That(BitConverter.ToUInt32(bytes, TinyLayout.ThresholdKind), Is.EqualTo(4u));
        Assert.That(BitConverter.ToUInt32(bytes, TinyLayout.Dense1Kind), Is.EqualTo(1u));
        Assert.That(BitConverter.ToUInt32(bytes, TinyLayout.ExtraCount), Is.EqualTo(1u));
        Assert.That(System.Text.Encoding.ASCII.GetString(bytes, TinyLayout.ExtraKey0Bytes, 12), Is.EqualTo("architecture"));
    }

    [Test]
    public void Save_refuses_a_lone_surrogate_in_metadata()
    {
        var model = Tiny().WithMetadata(new ModelMetadata { Dataset = "bad \uD800 string" });
        Assert.That(() => SaveToBytes(model), Throws.ArgumentException.With.Message.Contains("dataset name"));
    }

    [Test]
    public void Save_refuses_non_zero_padding_bits()
    {
        var model = Tiny();
        ((WeightLayer)model.Layers[0]).Weights.Words[0] |= 1UL << 63;
        Assert.That(() => SaveToBytes(model), Throws.ArgumentException.With.Message.Contains("padding"));
    }
}
