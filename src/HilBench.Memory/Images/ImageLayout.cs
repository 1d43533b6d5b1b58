namespace HilBench.Memory.Images;

/// <summary>What a stretch of a weight image holds.</summary>
public enum RegionKind
{
    /// <summary>A weight layer's binarized weights, one row per neuron, one bit per input (1 = +1).</summary>
    Weights,

    /// <summary>A hidden block's integer thresholds, one two's-complement word per channel.</summary>
    Thresholds,
}

/// <summary>
/// One stretch of the image: <see cref="Rows"/> rows of <see cref="BitsPerRow"/> bits starting at bit
/// <see cref="Offset"/>, belonging to model block <see cref="Block"/>.
/// </summary>
public sealed record ImageRegion(int Block, RegionKind Kind, long Offset, int Rows, int BitsPerRow)
{
    public long Length => (long)Rows * BitsPerRow;

    public long End => Offset + Length;

    public string Name => $"block{Block}.{(Kind == RegionKind.Weights ? "weights" : "thresholds")}";
}

/// <summary>Where a bit of the image comes from: region, row (neuron or channel) and column (input or threshold bit).</summary>
public readonly record struct ImageLocation(ImageRegion Region, int Row, int Column);

/// <summary>
/// The map from image bits back to the model: every weight layer's bits in block order, then (optionally)
/// every hidden block's thresholds. Keeping the weights first means a pattern drawn over the weights does not
/// change when thresholds are added.
/// </summary>
public sealed class ImageLayout
{
    private readonly long[] _starts;

    public ImageLayout(IReadOnlyList<ImageRegion> regions)
    {
        long next = 0;
        foreach (var r in regions)
        {
            if (r.Offset != next) throw new ArgumentException($"{r.Name} starts at bit {r.Offset}, expected {next}: regions must be contiguous");
            if (r.Rows <= 0 || r.BitsPerRow <= 0) throw new ArgumentException($"{r.Name} is empty");
            next = r.End;
        }
        Regions = regions.ToArray();
        _starts = Regions.Select(r => r.Offset).ToArray();
        BitCount = next;
    }

    public IReadOnlyList<ImageRegion> Regions { get; }

    public long BitCount { get; }

    public bool IncludesThresholds => Regions.Any(r => r.Kind == RegionKind.Thresholds);

    public ImageLocation Locate(long bit)
    {
        if ((ulong)bit >= (ulong)BitCount) throw new ArgumentOutOfRangeException(nameof(bit), bit, $"the image has {BitCount} bits");
        int i = Array.BinarySearch(_starts, bit);
        if (i < 0) i = ~i - 1;
        var r = Regions[i];
        long within = bit - r.Offset;
        return new ImageLocation(r, (int)(within / r.BitsPerRow), (int)(within % r.BitsPerRow));
    }

    public bool SameShape(ImageLayout other) => Regions.SequenceEqual(other.Regions);
}
