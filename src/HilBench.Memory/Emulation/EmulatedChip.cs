using HilBench.Bnn;
using HilBench.Memory.Profiles;

namespace HilBench.Memory.Emulation;

/// <summary>A cell that can fail somewhere in the profile's range: where it is, its critical value and how it fails.</summary>
public readonly record struct WeakCell(double Latent, int Offset, bool StuckValue, bool Marginal);

/// <summary>
/// One emulated chip: a profile plus a chip seed. Only the weak cells are drawn, the ones whose critical
/// value lies beyond the profile's worst corner, so the cost grows with the number of faults, not the
/// number of cells. Every block draws from its own seeded stream (block offset, weak lines, weak cells), so
/// the chip is the same whatever the thread count. Cells are kept sorted by critical value, strongest
/// failure first: the failing set at any threshold is a prefix, which makes faults persistent and nested.
/// </summary>
public sealed class EmulatedChip
{
    private readonly WeakCell[][] _cells;
    private readonly int[][] _weakBitlines;
    private readonly int[][] _weakWordlines;

    private EmulatedChip(DeviceProfile profile, int seed, double[] offsets, int[][] weakBitlines, int[][] weakWordlines, WeakCell[][] cells)
    {
        Profile = profile;
        Seed = seed;
        BlockOffsets = offsets;
        _weakBitlines = weakBitlines;
        _weakWordlines = weakWordlines;
        _cells = cells;
        Model = profile.Model;
    }

    public DeviceProfile Profile { get; }

    public int Seed { get; }

    public CellFailureModel Model { get; }

    /// <summary>This chip's offset of the critical value per block.</summary>
    public IReadOnlyList<double> BlockOffsets { get; }

    public IReadOnlyList<int> WeakBitlines(int block) => _weakBitlines[block];

    public IReadOnlyList<int> WeakWordlines(int block) => _weakWordlines[block];

    /// <summary>The weak cells of a block, sorted by critical value, most fragile first.</summary>
    public ReadOnlySpan<WeakCell> WeakCells(int block) => _cells[block];

    public long WeakCellCount => _cells.Sum(c => (long)c.Length);

    /// <summary>The number of leading <see cref="WeakCells"/> of a block that fail at a threshold.</summary>
    public int FailingCount(int block, double threshold)
    {
        var cells = _cells[block];
        int lo = 0, hi = cells.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >> 1;
            if (cells[mid].Latent > threshold) lo = mid + 1; else hi = mid;
        }
        return lo;
    }

    /// <summary>
    /// The weak cells that fail and hold an image bit, block by block: <paramref name="thresholds"/> gives each
    /// partition of the placement its threshold. Marginal cells are included; whether they fail on a given
    /// read is the caller's to decide.
    /// </summary>
    public IEnumerable<(long ImageBit, long Cell, WeakCell Weak, int Block)> FailingImageBits(Geometry.Placement placement, IReadOnlyList<double> thresholds)
    {
        long bitsPerBlock = Profile.Geometry.BitsPerBlock;
        foreach (int block in placement.UsedBlocks())
        {
            var cells = _cells[block];
            int failing = FailingCount(block, thresholds[placement.PartitionOfBlock(block)]);
            for (int i = 0; i < failing; i++)
            {
                long cell = block * bitsPerBlock + cells[i].Offset;
                long bit = placement.ImageBitOf(cell);
                if (bit >= 0) yield return (bit, cell, cells[i], block);
            }
        }
    }

    /// <summary>Does a marginal cell fail on read <paramref name="trial"/>? A hash of (chip, trial, cell), so any thread order gives the same answer.</summary>
    public bool FailsOnRead(int trial, int block, int offset)
    {
        ulong z = Mix(Mix(Mix((ulong)(uint)Seed) ^ (ulong)(uint)trial) ^ ((ulong)(uint)block << 32 | (uint)offset));
        return (z >> 11) * (1.0 / (1UL << 53)) < Profile.Transient.ReadFailureProbability;
    }

    /// <summary>This chip's expected number of failing cells at a threshold, given its block offsets and weak lines.</summary>
    public double ExpectedFailingCells(double threshold, int block)
    {
        var g = Profile.Geometry;
        var b = Profile.WeakBitlines;
        var w = Profile.WeakWordlines;
        long nb = _weakBitlines[block].Length, nw = _weakWordlines[block].Length, rows = g.RowsPerBlock, cols = g.BitsPerRow;
        double o = BlockOffsets[block];
        return (rows - nw) * (cols - nb) * Model.TailProbability(threshold, o)
             + (rows - nw) * nb * Model.TailProbability(threshold, o + b.Strength)
             + nw * (cols - nb) * Model.TailProbability(threshold, o + w.Strength)
             + nw * nb * Model.TailProbability(threshold, o + b.Strength + w.Strength);
    }

    public static EmulatedChip Generate(DeviceProfile profile, int? seed = null, int threads = 0)
    {
        int chipSeed = seed ?? profile.ChipSeed;
        var g = profile.Geometry;
        if (g.BitsPerBlock > int.MaxValue) throw new ProfileException($"{profile.Origin}: a block of {g.BitsPerBlock} bits is too large to emulate; use more, smaller blocks");
        var offsets = new double[g.Blocks];
        var bitlines = new int[g.Blocks][];
        var wordlines = new int[g.Blocks][];
        var cells = new WeakCell[g.Blocks][];
        var model = profile.Model;
        double floor = model.Floor;
        var options = new ParallelOptions { MaxDegreeOfParallelism = threads > 0 ? threads : Environment.ProcessorCount };
        Parallel.For(0, g.Blocks, options, block =>
        {
            var random = Randomness.Derive(chipSeed, block);
            offsets[block] = DrawOffset(profile.BlockOffsets, random);
            bitlines[block] = Bernoulli(g.BitsPerRow, profile.WeakBitlines.Fraction, random);
            wordlines[block] = Bernoulli(g.RowsPerBlock, profile.WeakWordlines.Fraction, random);
            cells[block] = DrawWeakCells(profile, model, floor, block, offsets[block], bitlines[block], wordlines[block], random);
        });
        return new EmulatedChip(profile, chipSeed, offsets, bitlines, wordlines, cells);
    }

    private static WeakCell[] DrawWeakCells(DeviceProfile profile, CellFailureModel model, double floor, int block, double offset,
        int[] weakBitlines, int[] weakWordlines, Random random)
    {
        var g = profile.Geometry;
        int rows = g.RowsPerBlock, cols = g.BitsPerRow;
        var isWeakBitline = new bool[cols];
        foreach (int c in weakBitlines) isWeakBitline[c] = true;
        var isWeakWordline = new bool[rows];
        foreach (int r in weakWordlines) isWeakWordline[r] = true;
        double sb = profile.WeakBitlines.Strength, sw = profile.WeakWordlines.Strength;
        var found = new List<WeakCell>();

        void Add(int row, int col, double classOffset, double tail)
        {
            double u = 1 - random.NextDouble(); // (0, 1]: the cell's place in the conditional tail beyond the floor
            double latent = model.LatentAtTail(u * tail, offset + classOffset);
            bool stuck = profile.Polarity.AntiCellRowGroup > 0
                ? row / profile.Polarity.AntiCellRowGroup % 2 == 1
                : random.NextDouble() >= profile.Polarity.StuckAtZeroShare;
            bool marginal = profile.Transient.Share > 0 && random.NextDouble() < profile.Transient.Share;
            found.Add(new WeakCell(latent, row * cols + col, stuck, marginal));
        }

        // Ordinary cells, then each weak bitline, each weak wordline, and their crossings: every cell is drawn
        // exactly once, at the tail probability of its own class.
        double q0 = model.TailProbability(floor, offset);
        foreach (long i in Skip((long)rows * cols, q0, random))
        {
            int row = (int)(i / cols), col = (int)(i % cols);
            if (!isWeakBitline[col] && !isWeakWordline[row]) Add(row, col, 0, q0);
        }
        double qb = model.TailProbability(floor, offset + sb);
        foreach (int col in weakBitlines)
            foreach (long row in Skip(rows, qb, random))
                if (!isWeakWordline[row]) Add((int)row, col, sb, qb);
        double qw = model.TailProbability(floor, offset + sw);
        foreach (int row in weakWordlines)
            foreach (long col in Skip(cols, qw, random))
                if (!isWeakBitline[col]) Add(row, (int)col, sw, qw);
        double qbw = model.TailProbability(floor, offset + sb + sw);
        foreach (int row in weakWordlines)
            foreach (int col in weakBitlines)
                if (random.NextDouble() < qbw) Add(row, col, sb + sw, qbw);

        var result = found.ToArray();
        // Most fragile first; ties (impossible in practice) broken by position so the order is total.
        Array.Sort(result, (a, b) => a.Latent != b.Latent ? b.Latent.CompareTo(a.Latent) : a.Offset.CompareTo(b.Offset));
        return result;
    }

    private static double DrawOffset(Profiles.BlockOffsets o, Random random) => o.Distribution switch
    {
        BlockOffsetDistribution.Normal => o.Sigma * StandardNormal(random),
        BlockOffsetDistribution.TwoClass => random.NextDouble() < o.WeakShare ? o.WeakOffset : 0,
        _ => 0,
    };

    private static double StandardNormal(Random random)
    {
        double u1 = 1 - random.NextDouble(), u2 = random.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    private static int[] Bernoulli(int count, double p, Random random) => Skip(count, p, random).Select(i => (int)i).ToArray();

    /// <summary>The indices in [0, count) chosen independently with probability p, by geometric skipping.</summary>
    internal static IEnumerable<long> Skip(long count, double p, Random random)
    {
        if (p <= 0) yield break;
        if (p >= 1)
        {
            for (long i = 0; i < count; i++) yield return i;
            yield break;
        }
        double logKeep = Math.Log(1 - p);
        long next = -1;
        while (true)
        {
            double gap = Math.Floor(Math.Log(1 - random.NextDouble()) / logKeep);
            if (gap >= count - next - 1) yield break;
            next += 1 + (long)gap;
            yield return next;
        }
    }

    private static ulong Mix(ulong z)
    {
        z = unchecked(z + 0x9E3779B97F4A7C15UL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return z ^ (z >> 31);
    }
}
