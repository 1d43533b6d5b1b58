using HilBench.Bnn.Errors;
using HilBench.Bnn.Layers;
using HilBench.Bnn.Model;
using HilBench.Bnn.Tensors;

namespace HilBench.Memory.Images;

/// <summary>
/// A model's binarized weights as one packed bit image, the thing a memory stores, plus the
/// <see cref="ImageLayout"/> that maps every bit back to its layer, neuron and input. Thresholds can be
/// included as two's-complement words (16 bits where every threshold of the block fits, else 32).
/// Model -> image -> model is exact.
/// </summary>
public sealed class WeightImage
{
    private readonly ulong[] _words;

    public WeightImage(ImageLayout layout) : this(layout, new ulong[(layout.BitCount + 63) >> 6]) { }

    private WeightImage(ImageLayout layout, ulong[] words)
    {
        Layout = layout;
        _words = words;
    }

    public ImageLayout Layout { get; }

    public long BitCount => Layout.BitCount;

    /// <summary>The packed bits: image bit i is bit i % 64 of word i / 64; bits past the end are zero.</summary>
    public ReadOnlySpan<ulong> Words => _words;

    public bool this[long bit]
    {
        get => PackedBits.Get(_words, CheckBit(bit));
        set => PackedBits.Set(_words, CheckBit(bit), value);
    }

    public WeightImage Clone() => new(Layout, (ulong[])_words.Clone());

    /// <summary>Copies another image of the same layout into this one (no allocation).</summary>
    public void CopyFrom(WeightImage other)
    {
        if (!Layout.SameShape(other.Layout)) throw new ArgumentException("the images have different layouts");
        other._words.CopyTo(_words, 0);
    }

    /// <summary>
    /// Flips bits in place as <paramref name="errors"/> draws them, region by region in layout order: the same pattern a
    /// <see cref="Backends.UniformBerBackend"/> load gives for the same random stream. Returns how many flipped.
    /// </summary>
    public long Inject(UniformBitErrors errors, Random random)
    {
        long flipped = 0;
        foreach (var region in Layout.Regions) flipped += errors.Inject(_words, region.Offset, region.Length, random);
        return flipped;
    }

    public bool ContentEquals(WeightImage other) => Layout.SameShape(other.Layout) && _words.AsSpan().SequenceEqual(other._words);

    /// <summary>Number of bits that differ from another image of the same layout.</summary>
    public long Distance(WeightImage other)
    {
        if (!Layout.SameShape(other.Layout)) throw new ArgumentException("the images have different layouts");
        long d = 0;
        for (int i = 0; i < _words.Length; i++) d += (long)ulong.PopCount(_words[i] ^ other._words[i]);
        return d;
    }

    public static WeightImage FromModel(BnnModel model, bool includeThresholds = false)
    {
        var image = new WeightImage(LayoutOf(model, includeThresholds));
        foreach (var r in image.Layout.Regions)
        {
            var block = model.Blocks[r.Block];
            if (r.Kind == RegionKind.Weights)
            {
                var w = block.Linear.Weights;
                for (int row = 0; row < w.Rows; row++)
                    PackedBits.Copy(w.Row(row), 0, image._words, r.Offset + (long)row * r.BitsPerRow, r.BitsPerRow);
            }
            else
            {
                var t = block.Threshold!.Thresholds;
                for (int c = 0; c < t.Length; c++)
                    PackedBits.Write(image._words, r.Offset + (long)c * r.BitsPerRow, r.BitsPerRow, (ulong)(uint)t[c]);
            }
        }
        return image;
    }

    /// <summary>
    /// The model with this image's weights (and thresholds, if the image holds them); everything else comes
    /// from <paramref name="template"/>, which must be the model (or one of the same shape) the image was made from.
    /// </summary>
    public BnnModel ToModel(BnnModel template)
    {
        var expected = LayoutOf(template, Layout.IncludesThresholds);
        if (!expected.SameShape(Layout))
            throw new ArgumentException($"this image does not fit model {template.Describe()}: its layout differs");
        var weights = new BitMatrix[template.Blocks.Count];
        var thresholds = new int[template.Blocks.Count][];
        foreach (var r in Layout.Regions)
        {
            if (r.Kind == RegionKind.Weights)
            {
                var w = new BitMatrix(r.Rows, r.BitsPerRow);
                for (int row = 0; row < r.Rows; row++)
                    PackedBits.Copy(_words, r.Offset + (long)row * r.BitsPerRow, w.Row(row), 0, r.BitsPerRow);
                weights[r.Block] = w;
            }
            else
            {
                var t = new int[r.Rows];
                for (int c = 0; c < r.Rows; c++)
                {
                    ulong raw = PackedBits.Read(_words, r.Offset + (long)c * r.BitsPerRow, r.BitsPerRow);
                    t[c] = r.BitsPerRow == 16 ? (short)(ushort)raw : (int)(uint)raw;
                }
                thresholds[r.Block] = t;
            }
        }
        var layers = new List<BnnLayer>(template.Layers.Count);
        int b = -1;
        foreach (var layer in template.Layers)
            layers.Add(layer switch
            {
                WeightLayer w => w.WithWeights(weights[++b]),
                ThresholdLayer t when thresholds[b] is { } values => new ThresholdLayer(t.InputShape, values, t.Ascending),
                _ => layer,
            });
        return new BnnModel(template.InputShape, layers, template.LogitScale, template.Metadata);
    }

    /// <summary>The layout <see cref="FromModel"/> gives a model, without copying any bits.</summary>
    public static ImageLayout LayoutOf(BnnModel model, bool thresholds)
    {
        var regions = new List<ImageRegion>();
        long offset = 0;
        foreach (var block in model.Blocks)
        {
            var w = block.Linear.Weights;
            regions.Add(new ImageRegion(block.Index, RegionKind.Weights, offset, w.Rows, w.Columns));
            offset += w.BitCount;
        }
        if (thresholds)
            foreach (var block in model.Blocks)
                if (block.Threshold is { } t)
                {
                    int width = t.Thresholds.All(v => v is >= short.MinValue and <= short.MaxValue) ? 16 : 32;
                    regions.Add(new ImageRegion(block.Index, RegionKind.Thresholds, offset, t.Thresholds.Length, width));
                    offset += (long)t.Thresholds.Length * width;
                }
        return new ImageLayout(regions);
    }

    private long CheckBit(long bit) =>
        (ulong)bit < (ulong)BitCount ? bit : throw new ArgumentOutOfRangeException(nameof(bit), bit, $"the image has {BitCount} bits");
}
