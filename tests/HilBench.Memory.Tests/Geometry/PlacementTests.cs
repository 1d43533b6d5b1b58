using HilBench.Bnn.Model;
using HilBench.Bnn.Tensors;
using HilBench.Memory.Geometry;
using HilBench.Memory.Images;

namespace HilBench.Memory.Tests.Geometry;

[TestFixture]
public class PlacementTests
{
    // 16 blocks of 16 rows of 16 bits (256 bits a block, 4096 in all), read in 8-bit words.
    private static readonly MemoryGeometry Memory = MemoryGeometry.Parse("16x16x16/8");

    /// <summary>
    /// dense16,dense8,dense4 on 32 inputs: weights 512 + 128 + 32 = 672 bits, then 16-bit thresholds of
    /// blocks 0 (16 channels) and 1 (8): 1,056 bits in all.
    /// </summary>
    private static ImageLayout SmallLayout() =>
        WeightImage.LayoutOf(ModelBuilder.FromSpec("dense16,dense8,dense4", new TensorShape(1, 1, 32), new Random(1)), thresholds: true);

    /// <summary>Model block 0 in partition A (memory blocks 0-3, contiguous), blocks 1 and 2 in B (memory blocks 4-15, word-interleaved).</summary>
    private static PartitionSpec[] TwoPartitions() =>
    [
        new("A", [0], 0, 4, PlacementPolicy.Contiguous),
        new("B", [1, 2], 4, 12, PlacementPolicy.WordInterleaved),
    ];

    private static IEnumerable<TestCaseData> Placements()
    {
        yield return new TestCaseData("contiguous").SetArgDisplayNames("contiguous");
        yield return new TestCaseData("interleaved").SetArgDisplayNames("interleaved");
        yield return new TestCaseData("partitions").SetArgDisplayNames("partitions");
    }

    private static Placement Make(string kind)
    {
        var layout = SmallLayout();
        return kind switch
        {
            "contiguous" => Placement.Create(layout, Memory),
            "interleaved" => Placement.Create(layout, Memory, PlacementPolicy.WordInterleaved),
            _ => Placement.Create(layout, Memory, TwoPartitions()),
        };
    }

    [TestCaseSource(nameof(Placements))]
    public void CellOfAndImageBitOfAreInverse(string kind)
    {
        var placement = Make(kind);
        var layout = placement.Layout;
        Assert.That(layout.BitCount, Is.EqualTo(1056));
        var seen = new HashSet<long>();
        for (long bit = 0; bit < layout.BitCount; bit++)
        {
            long cell = placement.CellOf(bit);
            Assert.That(cell, Is.InRange(0, Memory.TotalBits - 1), $"image bit {bit}");
            Assert.That(seen.Add(cell), Is.True, $"image bit {bit} shares cell {cell} with another bit");
            Assert.That(placement.ImageBitOf(cell), Is.EqualTo(bit), $"cell {cell}");
        }
        long used = 0;
        for (long cell = 0; cell < Memory.TotalBits; cell++)
        {
            long bit = placement.ImageBitOf(cell);
            if (bit < 0)
            {
                Assert.That(bit, Is.EqualTo(-1));
                Assert.That(seen, Does.Not.Contain(cell), $"cell {cell} holds an image bit but ImageBitOf says none");
                continue;
            }
            used++;
            Assert.That(placement.CellOf(bit), Is.EqualTo(cell));
        }
        Assert.That(used, Is.EqualTo(layout.BitCount), "every image bit has exactly one cell and every other cell is unused");
        Assert.That(placement.ImageBitOf(-1), Is.EqualTo(-1));
        Assert.That(placement.ImageBitOf(Memory.TotalBits), Is.EqualTo(-1));
        Assert.That(() => placement.CellOf(layout.BitCount), Throws.TypeOf<ArgumentOutOfRangeException>());
        // UsedBlocks lists exactly the blocks holding image bits.
        var holding = Enumerable.Range(0, (int)layout.BitCount).Select(b => Memory.Address(placement.CellOf(b)).Block).Distinct().Order();
        Assert.That(placement.UsedBlocks().Order(), Is.EqualTo(holding));
    }

    [Test]
    public void ContiguousFillsBlockAfterBlock()
    {
        var placement = Make("contiguous");
        for (long bit = 0; bit < placement.Layout.BitCount; bit++) Assert.That(placement.CellOf(bit), Is.EqualTo(bit));
        Assert.That(placement.UsedBlocks(), Is.EqualTo(new[] { 0, 1, 2, 3, 4 }), "1,056 bits need 5 blocks of 256");
        Assert.That(placement.ImageBitOf(1056), Is.EqualTo(-1));
        Assert.That(placement.Partitions.Single().ModelBlocks, Is.EqualTo(new[] { 0, 1, 2 }));
    }

    [Test]
    public void InterleavingSpreadsConsecutiveWordsOverBlocks()
    {
        var placement = Make("interleaved");
        const int w = 8;
        for (int word = 0; word < 40; word++)
        {
            var first = Memory.Address(placement.CellOf(word * w));
            Assert.That(first.Block, Is.EqualTo(word % 16), $"word {word} goes to block word mod 16");
            Assert.That(Memory.Cell(first.Block, first.Row, first.Bit) - first.Block * Memory.BitsPerBlock, Is.EqualTo(word / 16 * w),
                $"word {word} is word {word / 16} of its block");
            for (int j = 1; j < w; j++)
                Assert.That(placement.CellOf(word * w + j), Is.EqualTo(placement.CellOf(word * w) + j), "a word's bits stay together");
        }
        // 16 consecutive words touch 16 different blocks; contiguous placement keeps them in one.
        Assert.That(Enumerable.Range(0, 16).Select(k => Memory.Address(placement.CellOf(k * w)).Block).Distinct().Count(), Is.EqualTo(16));
        var contiguous = Make("contiguous");
        Assert.That(Enumerable.Range(0, 16).Select(k => Memory.Address(contiguous.CellOf(k * w)).Block).Distinct().Count(), Is.EqualTo(1));
        Assert.That(placement.UsedBlocks(), Is.EqualTo(Enumerable.Range(0, 16)));
    }

    [Test]
    public void PartitionsHoldTheirModelBlocksInTheirOwnMemoryBlocks()
    {
        var placement = Make("partitions");
        var layout = placement.Layout;
        Assert.That(placement.Partitions.Select(p => p.Name), Is.EqualTo(new[] { "A", "B" }));
        for (int b = 0; b < 16; b++) Assert.That(placement.PartitionOfBlock(b), Is.EqualTo(b < 4 ? 0 : 1));
        for (long bit = 0; bit < layout.BitCount; bit++)
        {
            int memoryBlock = Memory.Address(placement.CellOf(bit)).Block;
            if (layout.Locate(bit).Region.Block == 0) Assert.That(memoryBlock, Is.InRange(0, 3), $"image bit {bit} (model block 0)");
            else Assert.That(memoryBlock, Is.InRange(4, 15), $"image bit {bit} (model block 1 or 2)");
        }
        // A holds block 0's weights (512 bits) and then its thresholds (256 bits), concatenated in image order.
        var thresholds0 = layout.Regions.Single(r => r.Block == 0 && r.Kind == RegionKind.Thresholds);
        Assert.That(placement.CellOf(thresholds0.Offset), Is.EqualTo(512));
        Assert.That(placement.ImageBitOf(768), Is.EqualTo(-1), "A uses 768 of its 1,024 cells");
        // B interleaves its weights (image bits 512..671, 20 words) word by word over memory blocks 4..15.
        for (int word = 0; word < 20; word++)
            Assert.That(Memory.Address(placement.CellOf(512 + word * 8)).Block, Is.EqualTo(4 + word % 12), $"B's word {word}");
        Assert.That(placement.UsedBlocks().Order(), Is.EqualTo(new[] { 0, 1, 2 }.Concat(Enumerable.Range(4, 12))), "A fills blocks 0-2 (768 bits), B spreads over all of 4-15");
    }

    [Test]
    public void RefusesAnImageLargerThanItsPartition()
    {
        Assert.That(() => Placement.Create(SmallLayout(), MemoryGeometry.Parse("4x16x16")), Throws.TypeOf<PlacementException>()
            .With.Message.Contains("must hold 1056 bits").And.Message.Contains("hold 1024").And.Message.Contains("give it more blocks"));
        PartitionSpec[] small = [new("A", [0], 0, 2), new("B", [1, 2], 2, 14)];
        Assert.That(() => Placement.Create(SmallLayout(), Memory, small), Throws.TypeOf<PlacementException>()
            .With.Message.Contains("partition 'A' must hold 768 bits"));
    }

    [Test]
    public void RefusesOverlappingPartitions()
    {
        PartitionSpec[] overlap = [new("A", [0], 0, 4), new("B", [1, 2], 3, 13)];
        Assert.That(() => Placement.Create(SmallLayout(), Memory, overlap), Throws.TypeOf<PlacementException>()
            .With.Message.Contains("partitions 'A' and 'B' both claim memory block 3"));
    }

    [Test]
    public void RefusesAModelBlockWithoutPartition()
    {
        PartitionSpec[] missing = [new("A", [0], 0, 4), new("B", [1], 4, 12)];
        Assert.That(() => Placement.Create(SmallLayout(), Memory, missing), Throws.TypeOf<PlacementException>()
            .With.Message.Contains("model block 2 (block2.weights) is not assigned to any partition"));
    }

    [Test]
    public void RefusesOtherBadPartitionings()
    {
        PartitionSpec[] twice = [new("A", [0, 1], 0, 4), new("B", [1, 2], 4, 12)];
        Assert.That(() => Placement.Create(SmallLayout(), Memory, twice), Throws.TypeOf<PlacementException>()
            .With.Message.Contains("model block 1 is assigned to both 'A' and 'B'"));
        PartitionSpec[] outside = [new("A", [0, 1, 2], 10, 8)];
        Assert.That(() => Placement.Create(SmallLayout(), Memory, outside), Throws.TypeOf<PlacementException>()
            .With.Message.Contains("spans blocks 10..17, but the memory has blocks 0..15"));
        Assert.That(() => Placement.Create(SmallLayout(), Memory, []), Throws.TypeOf<PlacementException>().With.Message.Contains("at least one partition"));
    }
}
