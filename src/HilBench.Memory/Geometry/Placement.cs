using HilBench.Memory.Images;

namespace HilBench.Memory.Geometry;

/// <summary>How a partition lays its bits over its blocks.</summary>
public enum PlacementPolicy
{
    /// <summary>Bit after bit: fill the first block, then the next.</summary>
    Contiguous,

    /// <summary>Word w goes to block w mod n of the partition's n blocks, so a layer spreads over all of them.</summary>
    WordInterleaved,
}

/// <summary>
/// A run of memory blocks holding some of the model's blocks (layers). A partition may run at its own
/// operating point, as EDEN maps each data type to a DRAM partition and FeFET studies assign a BER per layer.
/// </summary>
public sealed record PartitionSpec(string Name, IReadOnlyList<int> ModelBlocks, int FirstBlock, int BlockCount,
    PlacementPolicy Policy = PlacementPolicy.Contiguous);

/// <summary>
/// Where every image bit sits in a memory (and, backwards, which image bit a cell holds): image regions are
/// assigned to partitions by model block, concatenated in image order inside their partition and laid
/// over its blocks by its policy. Pure arithmetic plus a binary search, no per-bit tables.
/// </summary>
public sealed class Placement
{
    private readonly Part[] _parts;
    private readonly int[] _partOfBlock;
    private readonly Segment[] _byImage;

    private sealed class Part(PartitionSpec spec, MemoryGeometry geometry)
    {
        public PartitionSpec Spec { get; } = spec;
        public List<Segment> Segments { get; } = [];
        public long[] LocalStarts = [];
        public long Used;

        public long Capacity => Spec.BlockCount * geometry.BitsPerBlock;

        public long CellOf(long local)
        {
            long bitsPerBlock = geometry.BitsPerBlock;
            if (Spec.Policy == PlacementPolicy.Contiguous) return Spec.FirstBlock * bitsPerBlock + local;
            int w = geometry.WordBits;
            long word = local / w;
            long block = Spec.FirstBlock + word % Spec.BlockCount, wordInBlock = word / Spec.BlockCount;
            return block * bitsPerBlock + wordInBlock * w + local % w;
        }

        public long LocalOf(long cell)
        {
            long bitsPerBlock = geometry.BitsPerBlock;
            if (Spec.Policy == PlacementPolicy.Contiguous) return cell - Spec.FirstBlock * bitsPerBlock;
            int w = geometry.WordBits;
            long block = cell / bitsPerBlock, within = cell - block * bitsPerBlock;
            long word = within / w * Spec.BlockCount + (block - Spec.FirstBlock);
            return word * w + within % w;
        }
    }

    private readonly record struct Segment(long ImageStart, long Length, int Part, long LocalStart);

    private Placement(MemoryGeometry geometry, ImageLayout layout, Part[] parts, int[] partOfBlock, Segment[] byImage)
    {
        Geometry = geometry;
        Layout = layout;
        _parts = parts;
        _partOfBlock = partOfBlock;
        _byImage = byImage;
    }

    public MemoryGeometry Geometry { get; }

    public ImageLayout Layout { get; }

    public IReadOnlyList<PartitionSpec> Partitions => _parts.Select(p => p.Spec).ToArray();

    /// <summary>The whole memory as one partition.</summary>
    public static Placement Create(ImageLayout layout, MemoryGeometry geometry, PlacementPolicy policy = PlacementPolicy.Contiguous) =>
        Create(layout, geometry, [new PartitionSpec("all", layout.Regions.Select(r => r.Block).Distinct().ToArray(), 0, geometry.Blocks, policy)]);

    public static Placement Create(ImageLayout layout, MemoryGeometry geometry, IReadOnlyList<PartitionSpec> partitions)
    {
        if (partitions.Count == 0) throw new PlacementException("a placement needs at least one partition");
        var partOfBlock = Enumerable.Repeat(-1, geometry.Blocks).ToArray();
        var parts = new Part[partitions.Count];
        var partOfModelBlock = new Dictionary<int, int>();
        for (int p = 0; p < partitions.Count; p++)
        {
            var spec = partitions[p];
            if (spec.BlockCount <= 0 || spec.FirstBlock < 0 || spec.FirstBlock + spec.BlockCount > geometry.Blocks)
                throw new PlacementException($"partition '{spec.Name}' spans blocks {spec.FirstBlock}..{spec.FirstBlock + spec.BlockCount - 1}, but the memory has blocks 0..{geometry.Blocks - 1}");
            for (int b = spec.FirstBlock; b < spec.FirstBlock + spec.BlockCount; b++)
            {
                if (partOfBlock[b] >= 0) throw new PlacementException($"partitions '{partitions[partOfBlock[b]].Name}' and '{spec.Name}' both claim memory block {b}");
                partOfBlock[b] = p;
            }
            foreach (int mb in spec.ModelBlocks)
                if (!partOfModelBlock.TryAdd(mb, p))
                    throw new PlacementException($"model block {mb} is assigned to both '{partitions[partOfModelBlock[mb]].Name}' and '{spec.Name}'");
            parts[p] = new Part(spec, geometry);
        }
        var byImage = new List<Segment>();
        foreach (var r in layout.Regions)
        {
            if (!partOfModelBlock.TryGetValue(r.Block, out int p))
                throw new PlacementException($"model block {r.Block} ({r.Name}) is not assigned to any partition");
            var part = parts[p];
            var segment = new Segment(r.Offset, r.Length, p, part.Used);
            part.Segments.Add(segment);
            byImage.Add(segment);
            part.Used += r.Length;
        }
        foreach (var part in parts)
        {
            if (part.Used > part.Capacity)
                throw new PlacementException($"partition '{part.Spec.Name}' must hold {part.Used} bits but its {part.Spec.BlockCount} blocks of {geometry.BitsPerBlock} bits hold {part.Capacity}; " +
                                            "give it more blocks or use a larger memory");
            part.LocalStarts = part.Segments.Select(s => s.LocalStart).ToArray();
        }
        return new Placement(geometry, layout, parts, partOfBlock, byImage.ToArray());
    }

    /// <summary>The partition (index into <see cref="Partitions"/>) a memory block belongs to, or -1.</summary>
    public int PartitionOfBlock(int block) => _partOfBlock[block];

    /// <summary>Memory blocks that hold at least one image bit.</summary>
    public IEnumerable<int> UsedBlocks()
    {
        foreach (var part in _parts)
        {
            var s = part.Spec;
            long blocks = s.Policy == PlacementPolicy.Contiguous
                ? (part.Used + Geometry.BitsPerBlock - 1) / Geometry.BitsPerBlock
                : Math.Min(s.BlockCount, (part.Used + Geometry.WordBits - 1) / Geometry.WordBits);
            for (int b = 0; b < blocks; b++) yield return s.FirstBlock + b;
        }
    }

    public long CellOf(long imageBit)
    {
        if ((ulong)imageBit >= (ulong)Layout.BitCount) throw new ArgumentOutOfRangeException(nameof(imageBit), imageBit, $"the image has {Layout.BitCount} bits");
        int lo = 0, hi = _byImage.Length - 1;
        while (lo < hi)
        {
            int mid = (lo + hi + 1) >> 1;
            if (_byImage[mid].ImageStart <= imageBit) lo = mid; else hi = mid - 1;
        }
        var s = _byImage[lo];
        return _parts[s.Part].CellOf(s.LocalStart + imageBit - s.ImageStart);
    }

    /// <summary>The image bit stored in a cell, or -1 when the cell holds none.</summary>
    public long ImageBitOf(long cell)
    {
        if ((ulong)cell >= (ulong)Geometry.TotalBits) return -1;
        int p = _partOfBlock[cell / Geometry.BitsPerBlock];
        if (p < 0) return -1;
        var part = _parts[p];
        long local = part.LocalOf(cell);
        if (local >= part.Used) return -1;
        int i = Array.BinarySearch(part.LocalStarts, local);
        if (i < 0) i = ~i - 1;
        var s = part.Segments[i];
        return s.ImageStart + local - s.LocalStart;
    }
}

/// <summary>An image that does not fit a memory or a partition plan that does not add up; the message says what to change.</summary>
public sealed class PlacementException(string message) : Exception(message);
