using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using HilBench.Bnn.Layers;
using HilBench.Bnn.Model;
using HilBench.Bnn.Tensors;

namespace HilBench.Bnn.Export;

/// <summary>
/// Exports a model as a NumPy <c>.npz</c> archive (a zip of deflated <c>.npy</c> v1.0 arrays) that
/// <c>numpy.load(path)</c> reads without <c>allow_pickle</c>. Weights are float32 +1/-1 in PyTorch layout:
/// dense <c>[out, in]</c>, conv <c>[out, in, 3, 3]</c> (OIHW). A dense layer fed by a feature map has its columns
/// permuted from HilBench's HWC flatten order to PyTorch's CHW order, so <c>x.reshape(n, -1)</c> of an NCHW tensor
/// feeds it directly. The arrays are listed in <c>docs/model-format.md</c>. The export is one-way: it cannot be loaded back.
/// </summary>
public static class NpzExporter
{
    /// <summary>Version of the array layout, recorded in the architecture JSON.</summary>
    public const int LayoutVersion = 1;

    /// <summary>Fixed entry time stamp, so that the same model always gives a byte-identical archive.</summary>
    private static readonly DateTimeOffset EntryTime = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Writes the archive to <c>path + ".tmp"</c>, then renames it over <paramref name="path"/>.</summary>
    public static void Export(BnnModel model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var file = AtomicFile.Create(path);
        Export(model, file.Stream);
        file.Commit();
    }

    /// <summary>Writes the archive to a stream (which is left open).</summary>
    public static void Export(BnnModel model, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(stream);
        using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
        foreach (var block in model.Blocks)
        {
            var source = SourceShape(model, block);
            Add(zip, $"layer{block.Index}.weight", s => WriteWeights(s, block.Linear, source));
            if (block.Threshold is { } t)
            {
                var thresholds = t.Thresholds.Select(v => (float)v).ToArray();
                var ascending = t.Ascending.Select(a => a ? 1f : 0f).ToArray();
                Add(zip, $"layer{block.Index}.threshold", s => NpyWriter.WriteFloat32(s, [thresholds.Length], thresholds));
                Add(zip, $"layer{block.Index}.ascending", s => NpyWriter.WriteFloat32(s, [ascending.Length], ascending));
            }
        }
        Add(zip, "logit_scale", s => NpyWriter.WriteFloat32(s, [], [model.LogitScale]));
        Add(zip, "input_shape", s => NpyWriter.WriteInt32(s, [3], Chw(model.InputShape)));
        string json = ArchitectureJson(model);
        Add(zip, "architecture", s => NpyWriter.WriteUnicodeScalar(s, json));
        Add(zip, "architecture_json", s => NpyWriter.WriteUInt8(s, Encoding.UTF8.GetBytes(json)));
    }

    /// <summary>The shape of the activations a block's weight layer reads: the model input or the previous block's (pooled) output.</summary>
    private static TensorShape SourceShape(BnnModel model, BnnBlock block) =>
        block.Index == 0 ? model.InputShape : model.Blocks[block.Index - 1].OutputShape;

    private static int[] Chw(TensorShape s) => [s.Channels, s.Height, s.Width];

    private static void Add(ZipArchive zip, string name, Action<Stream> write)
    {
        var entry = zip.CreateEntry(name + ".npy", CompressionLevel.Optimal);
        entry.LastWriteTime = EntryTime;
        using var s = entry.Open();
        using var buffered = new BufferedStream(s, 1 << 16);
        write(buffered);
    }

    /// <summary>
    /// For each PyTorch column index of a dense layer, the HilBench column it comes from. PyTorch flattens
    /// (C, H, W) so column p = c*H*W + h*W + w; HilBench flattens (H, W, C) so the same value is column (h*W + w)*C + c.
    /// </summary>
    internal static int[] ChwToHwcColumns(TensorShape source)
    {
        int h = source.Height, w = source.Width, c = source.Channels;
        var map = new int[source.Size];
        int p = 0;
        for (int ch = 0; ch < c; ch++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    map[p++] = (y * w + x) * c + ch;
        return map;
    }

    private static void WriteWeights(Stream s, WeightLayer layer, TensorShape source)
    {
        var bits = layer.Weights;
        int[] shape;
        int[] columns; // PyTorch element order within a row -> HilBench column
        switch (layer)
        {
            case BinaryConv2d conv:
                {
                    int cin = conv.InputShape.Channels;
                    shape = [bits.Rows, cin, BinaryConv2d.Kernel, BinaryConv2d.Kernel];
                    columns = new int[bits.Columns];
                    int p = 0;
                    for (int c = 0; c < cin; c++)
                        for (int kh = 0; kh < BinaryConv2d.Kernel; kh++)
                            for (int kw = 0; kw < BinaryConv2d.Kernel; kw++)
                                columns[p++] = conv.Column(kh, kw, c);
                    break;
                }
            case BinaryDense:
                shape = [bits.Rows, bits.Columns];
                columns = ChwToHwcColumns(source); // BnnModel checks that a dense layer reads source.Size values
                break;
            default:
                throw new ArgumentException($"cannot export layer kind '{layer.Kind}'");
        }
        s.Write(NpyWriter.Header("<f4", shape));
        var row = new byte[columns.Length * 4];
        for (int o = 0; o < bits.Rows; o++)
        {
            for (int p = 0; p < columns.Length; p++)
                BinaryPrimitives.WriteSingleLittleEndian(row.AsSpan(p * 4), bits[o, columns[p]] ? 1f : -1f);
            s.Write(row);
        }
    }

    /// <summary>The architecture document stored as <c>architecture</c> and <c>architecture_json</c>.</summary>
    internal static string ArchitectureJson(BnnModel model)
    {
        using var buffer = new MemoryStream();
        using (var j = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            j.WriteStartObject();
            j.WriteString("format", "hilbench-bnn-npz");
            j.WriteNumber("layout_version", LayoutVersion);
            j.WriteString("description", model.Describe());
            Shape(j, "input_shape_chw", model.InputShape);
            j.WriteString("input_dtype", "uint8 pixels 0..255, read as integers by the first layer");
            j.WriteString("weight_values", "float32 +1/-1 (HilBench bit 1 = +1, bit 0 = -1)");
            j.WriteNumber("logit_scale", model.LogitScale);
            j.WriteNumber("classes", model.Classes);
            j.WriteStartArray("layers");
            foreach (var block in model.Blocks)
            {
                string prefix = $"layer{block.Index}";
                var lin = block.Linear;
                var source = SourceShape(model, block);
                j.WriteStartObject();
                j.WriteNumber("block", block.Index);
                j.WriteString("kind", lin.Kind);
                j.WriteString("weight", prefix + ".weight");
                j.WriteString("reads", block.ReadsPixels ? "pixels" : "signs");
                if (lin is BinaryConv2d conv)
                {
                    j.WriteString("weight_layout", "OIHW");
                    Ints(j, "weight_shape", lin.Outputs, conv.InputShape.Channels, BinaryConv2d.Kernel, BinaryConv2d.Kernel);
                    j.WriteNumber("in_channels", conv.InputShape.Channels);
                    j.WriteNumber("out_channels", lin.Outputs);
                    j.WriteNumber("kernel_size", BinaryConv2d.Kernel);
                    j.WriteNumber("stride", 1);
                    j.WriteNumber("padding", 1);
                    j.WriteString("padding_value", "0 (padded positions add nothing to the sum)");
                    Shape(j, "input_shape_chw", source);
                    Shape(j, "output_shape_chw", lin.OutputShape);
                }
                else
                {
                    j.WriteString("weight_layout", "OI");
                    Ints(j, "weight_shape", lin.Outputs, lin.FanIn);
                    j.WriteNumber("in_features", lin.FanIn);
                    j.WriteNumber("out_features", lin.Outputs);
                    if (source.IsVector) j.WriteNull("flatten");
                    else
                    {
                        j.WriteStartObject("flatten");
                        Shape(j, "from_shape_chw", source);
                        j.WriteString("order", "CHW");
                        j.WriteString("hilbench_order", "HWC");
                        j.WriteString("note", "weight columns were permuted from HilBench's HWC flatten order to PyTorch's CHW order; feed x.reshape(n, -1) of an NCHW tensor");
                        j.WriteEndObject();
                    }
                }
                if (block.Pool is { } pool)
                {
                    j.WriteStartObject("pool");
                    j.WriteString("kind", pool.Kind);
                    j.WriteNumber("kernel_size", 2);
                    j.WriteNumber("stride", 2);
                    j.WriteString("applies_to", "integer pre-activations, before the threshold; an odd last row or column is dropped");
                    Shape(j, "output_shape_chw", pool.OutputShape);
                    j.WriteEndObject();
                }
                else j.WriteNull("pool");
                if (block.Threshold is { } t)
                {
                    j.WriteStartObject("threshold");
                    j.WriteString("threshold", prefix + ".threshold");
                    j.WriteString("ascending", prefix + ".ascending");
                    j.WriteNumber("channels", t.InputShape.Channels);
                    j.WriteString("rule", "out = +1 if (a >= threshold if ascending == 1 else a <= threshold) else -1, per channel");
                    j.WriteEndObject();
                    j.WriteString("output", "signs");
                }
                else
                {
                    j.WriteNull("threshold");
                    j.WriteString("output", "logits = pre-activations * logit_scale");
                }
                Shape(j, "block_output_shape_chw", block.OutputShape);
                j.WriteEndObject();
            }
            j.WriteEndArray();
            j.WriteStartObject("metadata");
            j.WriteString("dataset", model.Metadata.Dataset);
            Entries(j, "training", model.Metadata.Training);
            Entries(j, "extra", model.Metadata.Extra);
            j.WriteEndObject();
            j.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void Shape(Utf8JsonWriter j, string name, TensorShape s) => Ints(j, name, s.Channels, s.Height, s.Width);

    private static void Ints(Utf8JsonWriter j, string name, params int[] values)
    {
        j.WriteStartArray(name);
        foreach (int v in values) j.WriteNumberValue(v);
        j.WriteEndArray();
    }

    private static void Entries(Utf8JsonWriter j, string name, IReadOnlyDictionary<string, string> entries)
    {
        j.WriteStartObject(name);
        foreach (var kv in entries.OrderBy(kv => kv.Key, StringComparer.Ordinal)) j.WriteString(kv.Key, kv.Value);
        j.WriteEndObject();
    }
}
