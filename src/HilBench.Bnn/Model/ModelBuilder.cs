using System.Globalization;
using HilBench.Bnn.Layers;
using HilBench.Bnn.Tensors;

namespace HilBench.Bnn.Model;

/// <summary>
/// Builds models from an architecture: the reference MLP and VGG3, or a layer spec such as
/// "conv64,pool,conv64,pool,dense2048,dense10" (short forms c64, p, d2048; "pool" follows a conv).
/// Weights and thresholds come from a seeded generator, so a random model is reproducible.
/// </summary>
public static class ModelBuilder
{
    public const string MlpSpec = "dense2048,dense2048,dense10";
    public const string Vgg3Spec = "conv64,pool,conv64,pool,dense2048,dense10";

    public static TensorShape MnistShape { get; } = new(28, 28, 1);

    /// <summary>MLP 784-2048-2048-10 (or other hidden sizes) on 28x28 images.</summary>
    public static BnnModel Mlp(Random random, TensorShape? input = null, int[]? hidden = null, int classes = 10)
    {
        hidden ??= [2048, 2048];
        var spec = string.Join(",", hidden.Select(h => $"dense{h}").Append($"dense{classes}"));
        return FromSpec(spec, input ?? MnistShape, random);
    }

    /// <summary>VGG3: conv64-pool-conv64-pool-fc2048-fc10 on 28x28 images.</summary>
    public static BnnModel Vgg3(Random random, TensorShape? input = null) => FromSpec(Vgg3Spec, input ?? MnistShape, random);

    /// <summary>Resolves "mlp", "vgg3" or a layer spec to the canonical spec (long layer names, no spaces).</summary>
    public static string ResolveSpec(string arch) =>
        string.Join(",", ParseSpec(arch).Select(l => l.Kind == "pool" ? "pool" : $"{l.Kind}{l.Size}"));

    private static string Expand(string arch) => arch.Trim().ToLowerInvariant() switch
    {
        "mlp" => MlpSpec,
        "vgg3" => Vgg3Spec,
        var s => s,
    };

    /// <summary>Parses a layer spec into block descriptions without building weights.</summary>
    public static IReadOnlyList<(string Kind, int Size)> ParseSpec(string spec)
    {
        var tokens = Expand(spec).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (tokens.Length == 0) throw new FormatException("empty architecture spec; use mlp, vgg3, or e.g. conv64,pool,dense2048,dense10");
        var result = new List<(string, int)>();
        foreach (var t in tokens)
        {
            if (t is "pool" or "p" or "maxpool") { result.Add(("pool", 0)); continue; }
            string kind; string digits;
            if (t.StartsWith("conv", StringComparison.Ordinal)) (kind, digits) = ("conv", t[4..]);
            else if (t.StartsWith("dense", StringComparison.Ordinal)) (kind, digits) = ("dense", t[5..]);
            else if (t.StartsWith('c')) (kind, digits) = ("conv", t[1..]);
            else if (t.StartsWith('d')) (kind, digits) = ("dense", t[1..]);
            else throw new FormatException($"unknown layer '{t}' in architecture spec; expected convN, pool or denseN");
            if (!int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n <= 0 || n > 1 << 20)
                throw new FormatException($"layer '{t}' needs a positive size, e.g. {kind}64");
            result.Add((kind, n));
        }
        if (result[^1].Item1 != "dense") throw new FormatException("the last layer of an architecture spec must be denseN (the output layer)");
        return result;
    }

    /// <summary>
    /// Builds a random model from a spec. Hidden thresholds are small random integers with random orientation.
    /// A spec that is malformed, or that does not fit the input shape, throws <see cref="FormatException"/>.
    /// </summary>
    public static BnnModel FromSpec(string spec, TensorShape input, Random random)
    {
        try
        {
            return Build(ParseSpec(spec), input, random, ResolveSpec(spec));
        }
        catch (ArgumentException e)
        {
            // Layer constructors reject shapes that do not fit, e.g. pooling a 1x1 feature map.
            throw new FormatException($"architecture '{spec}' does not fit {input.Height}x{input.Width}x{input.Channels} inputs: {e.Message}", e);
        }
    }

    private static BnnModel Build(IReadOnlyList<(string Kind, int Size)> parsed, TensorShape input, Random random, string canonical)
    {
        var layers = new List<BnnLayer>();
        var shape = input;
        bool flattened = false;
        for (int i = 0; i < parsed.Count; i++)
        {
            var (kind, n) = parsed[i];
            bool last = i == parsed.Count - 1;
            switch (kind)
            {
                case "conv":
                    if (flattened) throw new FormatException("a conv layer cannot follow a dense layer");
                    var conv = new BinaryConv2d(shape, BitMatrix.Random(n, 9 * shape.Channels, random));
                    layers.Add(conv);
                    shape = conv.OutputShape;
                    break;
                case "dense":
                    var dense = new BinaryDense(shape, BitMatrix.Random(n, shape.Size, random));
                    layers.Add(dense);
                    shape = dense.OutputShape;
                    flattened = true;
                    break;
                default:
                    if (i == 0 || parsed[i - 1].Kind != "conv") throw new FormatException("pool must directly follow a conv layer");
                    var pool = new MaxPool2d(shape);
                    layers.Add(pool);
                    shape = pool.OutputShape;
                    break;
            }
            bool nextIsPool = i + 1 < parsed.Count && parsed[i + 1].Kind == "pool";
            if (!last && kind != "pool" && !nextIsPool || kind == "pool")
                layers.Add(RandomThreshold(shape, random));
        }
        var meta = new ModelMetadata { Extra = new SortedDictionary<string, string>(StringComparer.Ordinal) { ["architecture"] = canonical } };
        return new BnnModel(input, layers, 1f, meta);
    }

    private static ThresholdLayer RandomThreshold(TensorShape shape, Random random)
    {
        var t = new int[shape.Channels];
        var asc = new bool[shape.Channels];
        for (int j = 0; j < t.Length; j++)
        {
            t[j] = random.Next(-2, 3);
            asc[j] = random.Next(4) != 0;
        }
        return new ThresholdLayer(shape, t, asc);
    }
}
