using HilBench.Memory.Geometry;

namespace HilBench.Memory.Tests.Geometry;

[TestFixture]
public class MemoryGeometryTests
{
    [Test]
    public void ParsesBlocksRowsAndBits()
    {
        var g = MemoryGeometry.Parse("64x512x32");
        Assert.That((g.Blocks, g.RowsPerBlock, g.BitsPerRow, g.WordBits), Is.EqualTo((64, 512, 32, 32)));
        Assert.That(g.BitsPerBlock, Is.EqualTo(512L * 32));
        Assert.That(g.TotalBits, Is.EqualTo(64L * 512 * 32));
        Assert.That(g.WordsPerBlock, Is.EqualTo(512));
        Assert.That(g.ToString(), Is.EqualTo("64x512x32"));
    }

    [Test]
    public void ParsesAWordWidthNarrowerThanTheRow()
    {
        var g = MemoryGeometry.Parse("16x1024x256/64");
        Assert.That((g.Blocks, g.RowsPerBlock, g.BitsPerRow, g.WordBits), Is.EqualTo((16, 1024, 256, 64)));
        Assert.That(g.WordsPerBlock, Is.EqualTo(1024 * 4));
        Assert.That(g.ToString(), Is.EqualTo("16x1024x256/64"));
        Assert.That(MemoryGeometry.Parse(g.ToString()), Is.EqualTo(g));
        Assert.That(MemoryGeometry.Parse("2X4X8"), Is.EqualTo(new MemoryGeometry(2, 4, 8)));
    }

    [Test]
    public void TotalBitsDoNotOverflowThirtyTwoBits()
    {
        var g = MemoryGeometry.Parse("65536x65536x64");
        Assert.That(g.TotalBits, Is.EqualTo(65536L * 65536 * 64));
        long last = g.TotalBits - 1;
        Assert.That(g.Address(last), Is.EqualTo(new CellAddress(65535, 65535, 63)));
        Assert.That(g.Cell(65535, 65535, 63), Is.EqualTo(last));
    }

    [TestCase("64x512")]
    [TestCase("64x512x32x2")]
    [TestCase("axbxc")]
    [TestCase("0x512x32")]
    [TestCase("64x-512x32")]
    [TestCase("64x512x32/")]
    [TestCase("64x512x32/16/8")]
    [TestCase("")]
    [TestCase("99999999999x1x1")]
    public void RefusesTextThatIsNotBlocksRowsBits(string text)
    {
        Assert.That(() => MemoryGeometry.Parse(text), Throws.TypeOf<FormatException>()
            .With.Message.Contains("BLOCKSxROWSxBITS").And.Message.Contains("e.g. 64x512x32"));
    }

    [TestCase("16x1024x256/48")]
    [TestCase("16x1024x32/64")]
    [TestCase("16x1024x256/0")]
    public void RefusesAWordWidthThatDoesNotDivideTheRow(string text)
    {
        Assert.That(() => MemoryGeometry.Parse(text), Throws.TypeOf<FormatException>()
            .With.Message.Contains($"geometry '{text}'").And.Message.Contains("word width must divide the row width"));
    }

    [Test]
    public void CellAndAddressAreInverse()
    {
        var g = MemoryGeometry.Parse("7x13x24/8");
        long cell = 0;
        for (int b = 0; b < g.Blocks; b++)
            for (int r = 0; r < g.RowsPerBlock; r++)
                for (int bit = 0; bit < g.BitsPerRow; bit++, cell++)
                {
                    Assert.That(g.Cell(b, r, bit), Is.EqualTo(cell), "cells are numbered block, row, bit");
                    Assert.That(g.Address(cell), Is.EqualTo(new CellAddress(b, r, bit)));
                }
        Assert.That(cell, Is.EqualTo(g.TotalBits));
    }

    [Test]
    public void ConstructorRefusesEmptyShapes()
    {
        Assert.That(() => new MemoryGeometry(0, 1, 1), Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("at least one block"));
        Assert.That(() => new MemoryGeometry(1, 0, 1), Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("at least one row"));
        Assert.That(() => new MemoryGeometry(1, 1, 0), Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("at least one bit"));
        Assert.That(() => new MemoryGeometry(1, 1, 32, 12), Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("must divide the row width"));
        Assert.That(new MemoryGeometry(1, 1, 32).WordBits, Is.EqualTo(32), "word width 0 means the whole row");
    }
}
