using System.Buffers.Binary;
using System.Security.Cryptography;
using HilBench.Bnn.Layers;
using HilBench.Bnn.Model;
using HilBench.Bnn.Tensors;
using NUnit.Framework;

namespace HilBench.Bnn.Tests.Model;

/// <summary>Models and byte-level helpers shared by the model file tests.</summary>
internal static class ModelFileTestSupport
{
    /// <summary>"dense3,dense2" on a 1x1x4 input; its byte layout is spelled out in <see cref="TinyLayout"/>.</summary>
    public static BnnModel Tiny() => ModelBuilder.FromSpec("dense3,dense2", new TensorShape(1, 1, 4), new Random(7));

    /// <summary>Offsets in the saved <see cref="Tiny"/> model, following docs/model-format.md.</summary>
    public static class TinyLayout
    {
        public const int Version = 8;
        public const int HeaderLength = 12;
        public const int FileLength = 16;
        public const int InputHeight = 24;
        public const int LogitScale = 36;
        public const int LayerCount = 40;
        public const int Reserved = 44;
        public const int Dense0Kind = 48;
        public const int Dense0Channels = 60;
        public const int Dense0Rows = 64;
        public const int Dense0Words = 72;           // 3 rows x 1 word
        public const int ThresholdKind = 96;
        public const int ThresholdHeight = 100;
        public const int ThresholdValues = 112;      // 3 x int32
        public const int ThresholdOrientations = 124; // 3 bytes
        public const int Dense1Kind = 127;
        public const int DatasetLength = 167;
        public const int TrainingCount = 171;
        public const int ExtraCount = 175;
        public const int ExtraKey0Length = 179;
        public const int ExtraKey0Bytes = 183;       // "architecture"
        public const int Checksum = 212;
        public const int Total = 244;
    }

    public static byte[] SaveToBytes(BnnModel model)
    {
        using var ms = new MemoryStream();
        ModelFile.Save(model, ms);
        return ms.ToArray();
    }

    public static BnnModel LoadFromBytes(byte[] data, string name = "test.hbnn") => ModelFile.Load(new MemoryStream(data), name);

    /// <summary>Recomputes the trailing SHA-256 so that a deliberately patched file passes the checksum.</summary>
    public static byte[] Reseal(byte[] data)
    {
        SHA256.HashData(data.AsSpan(0, data.Length - 32)).CopyTo(data.AsSpan(data.Length - 32));
        return data;
    }

    public static byte[] PatchU32(byte[] data, int offset, uint value, bool reseal = true)
    {
        var copy = (byte[])data.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(offset), value);
        return reseal ? Reseal(copy) : copy;
    }

    public static void AssertModelsEqual(BnnModel expected, BnnModel actual)
    {
        Assert.That(actual.InputShape, Is.EqualTo(expected.InputShape), "input shape");
        Assert.That(actual.LogitScale, Is.EqualTo(expected.LogitScale), "logit scale");
        Assert.That(actual.Metadata, Is.EqualTo(expected.Metadata), "metadata");
        Assert.That(actual.Metadata.Dataset, Is.EqualTo(expected.Metadata.Dataset), "dataset");
        Assert.That(actual.Metadata.Training, Is.EquivalentTo(expected.Metadata.Training), "training metadata");
        Assert.That(actual.Metadata.Extra, Is.EquivalentTo(expected.Metadata.Extra), "extra metadata");
        Assert.That(actual.Layers, Has.Count.EqualTo(expected.Layers.Count), "layer count");
        Assert.That(actual.Blocks, Has.Count.EqualTo(expected.Blocks.Count), "block count");
        for (int i = 0; i < expected.Layers.Count; i++)
        {
            var e = expected.Layers[i];
            var a = actual.Layers[i];
            Assert.That(a.GetType(), Is.EqualTo(e.GetType()), $"layer {i} type");
            Assert.That(a.InputShape, Is.EqualTo(e.InputShape), $"layer {i} input shape");
            Assert.That(a.OutputShape, Is.EqualTo(e.OutputShape), $"layer {i} output shape");
            switch (e)
            {
                case WeightLayer ew:
                    var aw = (WeightLayer)a;
                    Assert.That(aw.Weights.Rows, Is.EqualTo(ew.Weights.Rows), $"layer {i} rows");
                    Assert.That(aw.Weights.Columns, Is.EqualTo(ew.Weights.Columns), $"layer {i} columns");
                    Assert.That(aw.Weights.Words, Is.EqualTo(ew.Weights.Words), $"layer {i} weight words");
                    Assert.That(aw.Weights, Is.EqualTo(ew.Weights), $"layer {i} weights");
                    break;
                case ThresholdLayer et:
                    var at = (ThresholdLayer)a;
                    Assert.That(at.Thresholds, Is.EqualTo(et.Thresholds), $"layer {i} thresholds");
                    Assert.That(at.Ascending, Is.EqualTo(et.Ascending), $"layer {i} orientations");
                    break;
            }
        }
    }
}
