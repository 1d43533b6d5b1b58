using HilBench.Bnn.Errors;
using HilBench.Bnn.Tensors;
using HilBench.Memory.Geometry;
using HilBench.Memory.Images;
using HilBench.Memory.Profiles;

namespace HilBench.Memory.Emulation;

/// <summary>
/// Bit flip training against one emulated chip at one operating point: "train against the chip you will
/// run on". The weight cells that fail there are found once; on every forward pass each reads its stuck
/// value (or flips), marginal cells only with the profile's per-read probability, drawn from the
/// training's random stream. The weights of a layer sit where the placement of the full model puts them.
/// </summary>
public sealed class ChipErrorSource : IWeightErrorSource
{
    /// <summary>Per model block: the failing weight cells as (row, column, read value: 0, 1, or -1 for "flips", marginal).</summary>
    private readonly (int Row, int Column, sbyte Read, bool Marginal)[][] _byBlock;
    private readonly double _readFailure;
    private readonly string _description;

    public ChipErrorSource(EmulatedChip chip, Placement placement, OperatingPoint point)
    {
        var profile = chip.Profile;
        var op = profile.Check(point);
        double threshold = chip.Model.ThresholdAt(op);
        var lists = new List<(int, int, sbyte, bool)>[placement.Layout.Regions.Max(r => r.Block) + 1];
        for (int b = 0; b < lists.Length; b++) lists[b] = [];
        foreach (var (bit, _, weak, _) in chip.FailingImageBits(placement, Enumerable.Repeat(threshold, placement.Partitions.Count).ToArray()))
        {
            var at = placement.Layout.Locate(bit);
            if (at.Region.Kind != RegionKind.Weights) continue;
            sbyte read = profile.Polarity.Mode == FailureMode.Flip ? (sbyte)-1 : weak.StuckValue ? (sbyte)1 : (sbyte)0;
            lists[at.Region.Block].Add((at.Row, at.Column, read, weak.Marginal));
        }
        _byBlock = lists.Select(l => l.ToArray()).ToArray();
        _readFailure = profile.Transient.ReadFailureProbability;
        _description = $"{profile.Name} chip {chip.Seed} at {op}";
    }

    /// <summary>Failing weight cells over all blocks (whether they cause an error depends on the weight stored).</summary>
    public long FailingWeightCells => _byBlock.Sum(b => (long)b.Length);

    public long Inject(BitMatrix weights, int block, Random random)
    {
        if (block >= _byBlock.Length) return 0;
        long changed = 0;
        foreach (var (row, column, read, marginal) in _byBlock[block])
        {
            if (marginal && random.NextDouble() >= _readFailure) continue;
            bool stored = weights[row, column];
            bool value = read < 0 ? !stored : read == 1;
            if (value == stored) continue;
            weights[row, column] = value;
            changed++;
        }
        return changed;
    }

    public override string ToString() => _description;
}
