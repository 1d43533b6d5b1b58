using System.IO.Compression;
using HilBench.Bnn.Export;
using HilBench.Bnn.Model;
using NUnit.Framework;
using static HilBench.Bnn.Tests.Model.ModelFileTestSupport;

namespace HilBench.Bnn.Tests.Model;

[TestFixture]
public sealed class ModelFileRefusalTests
{
    private const string Name = "suspect.hbnn";

    private static byte[] TinyBytes() => SaveToBytes(Tiny());

    /// <summary>Loading must fail with a ModelFileException naming the source and containing every fragment.</summary>
    private static ModelFileException AssertRefused(byte[] data, params string[] fragments)
    {
        var ex = Assert.Throws<ModelFileException>(() => LoadFromBytes(data, Name))!;
        TestContext.Out.WriteLine(ex.Message);
        Assert.That(ex.Message, Does.Contain($"'{Name}'"));
        foreach (var f in fragments) Assert.That(ex.Message, Does.Contain(f).IgnoreCase);
        return ex;
    }

    [Test]
    public void Empty_file_is_refused() =>
        AssertRefused([], "empty", "save or copy the model again");

    [Test]
    public void Wrong_magic_is_refused()
    {
        var data = TinyBytes();
        data[0] = (byte)'X';
        AssertRefused(data, "not a HilBench model", "4842");
    }

    [Test]
    public void Garbage_is_refused()
    {
        var data = new byte[1000];
        new Random(1).NextBytes(data);
        data[0] = 0x42;
        AssertRefused(data, "not a HilBench model", "check the path");
    }

    [Test]
    public void Short_garbage_is_refused() =>
        AssertRefused("hello"u8.ToArray(), "not a HilBench model");

    [Test]
    public void Zip_file_is_refused_as_zip()
    {
        using var ms = new MemoryStream();
        using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
        using (var w = new StreamWriter(zip.CreateEntry("hello.txt").Open()))
            w.Write("hello");
        AssertRefused(ms.ToArray(), "not a HilBench model", "zip archive");
    }

    [Test]
    public void Npz_export_is_refused_as_zip()
    {
        using var ms = new MemoryStream();
        NpzExporter.Export(Tiny(), ms);
        AssertRefused(ms.ToArray(), "zip archive", ".npz");
    }

    [Test]
    public void Gzipped_model_is_refused_as_gzip()
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(TinyBytes());
        AssertRefused(ms.ToArray(), "gzip", "decompress");
    }

    [Test]
    public void Npy_array_is_refused() =>
        AssertRefused([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, 0, 0], ".npy");

    [Test]
    public void Text_mode_line_ending_damage_is_detected()
    {
        var data = TinyBytes().ToList();
        data.RemoveAt(4); // "HBNN\r\n" -> "HBNN\n"
        AssertRefused(data.ToArray(), "text-mode", "binary mode");
    }

    [TestCase(99u, "newer HilBench")]
    [TestCase(2u, "newer HilBench")]
    [TestCase(0u, "corrupt")]
    public void Unsupported_version_is_refused_naming_both_versions(uint version, string fix)
    {
        var data = PatchU32(TinyBytes(), TinyLayout.Version, version, reseal: false);
        AssertRefused(data, $"format version {version}", "reads format version 1", fix);
    }

    [TestCase(1)]
    [TestCase(4)]
    [TestCase(8)]
    [TestCase(10)]
    [TestCase(12)]
    [TestCase(20)]
    [TestCase(47)]
    [TestCase(48)]
    [TestCase(50)]
    [TestCase(60)]
    [TestCase(80)]
    [TestCase(100)]
    [TestCase(125)]
    [TestCase(130)]
    [TestCase(170)]
    [TestCase(200)]
    [TestCase(211)]
    [TestCase(212)]
    [TestCase(230)]
    [TestCase(243)]
    public void Truncated_file_is_refused_saying_where_it_ends(int length)
    {
        var data = TinyBytes()[..length];
        AssertRefused(data, "truncated", $"ends at byte {length}", "copy or save the model again");
    }

    [TestCase(TinyLayout.Dense0Words + 4, "weights of layer 0 (dense)")]
    [TestCase(TinyLayout.ThresholdValues + 2, "thresholds and orientations of layer 1 (threshold)")]
    [TestCase(TinyLayout.ExtraKey0Bytes + 3, "extra metadata entries at offset 179")]
    [TestCase(TinyLayout.Checksum + 10, "SHA-256 checksum")]
    public void Truncation_message_names_the_part_that_was_cut(int length, string part) =>
        AssertRefused(TinyBytes()[..length], "truncated", part, $"says it is {TinyLayout.Total} bytes long");

    [Test]
    public void Extra_layer_count_reads_the_metadata_as_an_unknown_layer()
    {
        var data = PatchU32(TinyBytes(), TinyLayout.LayerCount, 1000);
        AssertRefused(data, "layer 3", "unknown layer kind code 0");
    }

    [Test]
    public void Truncated_mlp_is_refused_inside_its_weights()
    {
        var data = SaveToBytes(ModelBuilder.Mlp(new Random(1), hidden: [256, 128]));
        int cut = data.Length / 2;
        AssertRefused(data[..cut], "truncated", $"ends at byte {cut}", "weights of layer");
    }

    [Test]
    public void Flipped_byte_in_the_middle_fails_the_checksum()
    {
        var data = SaveToBytes(ModelBuilder.Mlp(new Random(1), hidden: [256, 128]));
        data[data.Length / 2] ^= 0x10;
        AssertRefused(data, "checksum", "corrupt", "good copy");
    }

    [Test]
    public void Flipped_checksum_byte_fails_the_checksum()
    {
        var data = TinyBytes();
        data[^1] ^= 0x01;
        AssertRefused(data, "checksum", "corrupt");
    }

    [Test]
    public void Flipped_weight_bit_in_a_tiny_model_fails_the_checksum()
    {
        var data = TinyBytes();
        data[TinyLayout.Dense0Words] ^= 0x01;
        AssertRefused(data, "checksum");
    }

    [Test]
    public void Trailing_bytes_after_the_checksum_are_refused()
    {
        var data = TinyBytes().Concat(new byte[] { 1, 2, 3, 4, 5 }).ToArray();
        AssertRefused(data, "5 unexpected trailing bytes", $"offset {TinyLayout.Total}", $"truncate it to {TinyLayout.Total} bytes");
    }

    [Test]
    public void Damaged_file_length_field_is_reported_as_corrupt()
    {
        var longer = PatchU32(TinyBytes(), TinyLayout.FileLength, TinyLayout.Total + 10, reseal: false);
        AssertRefused(longer, "header is corrupt");
        var shorter = PatchU32(TinyBytes(), TinyLayout.FileLength, TinyLayout.Total - 10, reseal: false);
        AssertRefused(shorter, "checksum", "corrupt");
    }

    [Test]
    public void Unknown_layer_kind_is_refused()
    {
        var data = PatchU32(TinyBytes(), TinyLayout.Dense0Kind, 9);
        AssertRefused(data, "unknown layer kind code 9", "layer 0", "newer HilBench");
    }

    [Test]
    public void Threshold_shape_that_does_not_follow_is_refused_as_inconsistent()
    {
        var ex = AssertRefused(PatchU32(TinyBytes(), TinyLayout.ThresholdHeight, 2), "inconsistent shapes", "layer 1 (threshold)");
        Assert.That(ex.InnerException, Is.InstanceOf<InvalidModelException>());
    }

    [Test]
    public void Dense_input_that_does_not_match_its_columns_is_refused_as_inconsistent()
    {
        var ex = AssertRefused(PatchU32(TinyBytes(), TinyLayout.Dense0Channels, 5), "inconsistent shapes", "layer 0 (dense)");
        Assert.That(ex.InnerException, Is.InstanceOf<ArgumentException>());
    }

    [Test]
    public void Non_zero_padding_bits_are_refused()
    {
        var data = TinyBytes();
        data[TinyLayout.Dense0Words + 7] |= 0x80; // bit 63 of row 0; the layer has 4 columns
        AssertRefused(Reseal(data), "non-zero padding bits", "row 0", "layer 0 (dense)");
    }

    [Test]
    public void Invalid_orientation_byte_is_refused()
    {
        var data = TinyBytes();
        data[TinyLayout.ThresholdOrientations + 1] = 2;
        AssertRefused(Reseal(data), "orientation of channel 1", "must be 1 (ascending) or 0 (descending)");
    }

    [TestCase(TinyLayout.Dense0Rows, 1u << 25, "row count of layer 0 (dense)")]
    [TestCase(TinyLayout.InputHeight, 1u << 30, "height of the input shape")]
    [TestCase(TinyLayout.LayerCount, 1u << 20, "layer count")]
    [TestCase(TinyLayout.DatasetLength, 1u << 21, "length of the dataset name")]
    [TestCase(TinyLayout.ExtraCount, 1u << 20, "number of extra metadata entries")]
    [TestCase(TinyLayout.ExtraKey0Length, uint.MaxValue, "length of extra metadata key 0")]
    public void Absurd_sizes_are_refused_before_allocating(int offset, uint value, string what) =>
        AssertRefused(PatchU32(TinyBytes(), offset, value), what, "absurd");

    [TestCase(TinyLayout.Dense0Rows, 1u << 20, "weights of layer 0 (dense)")]
    [TestCase(TinyLayout.DatasetLength, 1000u, "dataset name")]
    [TestCase(TinyLayout.ExtraCount, 1000u, "extra metadata entries")]
    public void Sizes_larger_than_the_rest_of_the_file_are_refused(int offset, uint value, string what) =>
        AssertRefused(PatchU32(TinyBytes(), offset, value), what, "remain", "inconsistent");

    [Test]
    public void Impossible_header_length_is_refused() =>
        AssertRefused(PatchU32(TinyBytes(), TinyLayout.HeaderLength, 1u << 20, reseal: false), "header length field", "corrupt");

    [Test]
    public void Non_zero_reserved_field_is_refused() =>
        AssertRefused(PatchU32(TinyBytes(), TinyLayout.Reserved, 1), "reserved header field", "incompatible");

    [Test]
    public void Non_positive_logit_scale_is_refused() =>
        AssertRefused(PatchU32(TinyBytes(), TinyLayout.LogitScale, BitConverter.SingleToUInt32Bits(float.NaN)), "logit scale");

    [Test]
    public void Zero_dimension_is_refused() =>
        AssertRefused(PatchU32(TinyBytes(), TinyLayout.InputHeight, 0), "height of the input shape is 0");

    [Test]
    public void Invalid_utf8_in_metadata_is_refused()
    {
        var data = TinyBytes();
        data[TinyLayout.ExtraKey0Bytes] = 0xFF;
        AssertRefused(Reseal(data), "not valid UTF-8");
    }

    [Test]
    public void Unordered_metadata_keys_are_refused()
    {
        var model = Tiny().WithMetadata(new ModelMetadata
        {
            Extra = new SortedDictionary<string, string>(StringComparer.Ordinal) { ["a"] = "1", ["b"] = "2" },
        });
        var data = SaveToBytes(model);
        int at = Array.IndexOf(data, (byte)'b', TinyLayout.ExtraKey0Bytes);
        data[at] = (byte)'a';
        AssertRefused(Reseal(data), "repeated or out of order");
    }

    [Test]
    public void Missing_file_is_refused_with_its_path()
    {
        string path = Path.Combine(Path.GetTempPath(), "hilbench-missing-" + Guid.NewGuid().ToString("N") + ".hbnn");
        var ex = Assert.Throws<ModelFileException>(() => ModelFile.Load(path))!;
        Assert.That(ex.Message, Does.Contain(path).And.Contain("does not exist"));
    }

    [Test]
    public void Loading_from_a_path_names_the_path_in_errors()
    {
        string path = Path.Combine(Path.GetTempPath(), "hilbench-empty-" + Guid.NewGuid().ToString("N") + ".hbnn");
        File.WriteAllBytes(path, []);
        try
        {
            var ex = Assert.Throws<ModelFileException>(() => ModelFile.Load(path))!;
            Assert.That(ex.Message, Does.Contain(path).And.Contain("empty"));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
