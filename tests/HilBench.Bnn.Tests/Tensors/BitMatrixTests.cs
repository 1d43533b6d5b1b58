using HilBench.Bnn.Kernels;
using HilBench.Bnn.Tensors;
using NUnit.Framework;

namespace HilBench.Bnn.Tests.Tensors;

[TestFixture]
public class BitMatrixTests
{
    [TestCase(1, 1)]
    [TestCase(3, 63)]
    [TestCase(2, 64)]
    [TestCase(5, 65)]
    public void RowsArePaddedToWordsWithZeroPadding(int rows, int columns)
    {
        var m = BitMatrix.Random(rows, columns, new Random(columns));
        Assert.That(m.WordsPerRow, Is.EqualTo((columns + 63) / 64));
        Assert.That(m.Words, Has.Length.EqualTo(rows * m.WordsPerRow));
        Assert.That(m.PaddingIsZero(), Is.True);
    }

    [Test]
    public void BitOneIsPlusOne()
    {
        var m = new BitMatrix(2, 70);
        m[1, 69] = true;
        Assert.That(m.Sign(1, 69), Is.EqualTo(1));
        Assert.That(m.Sign(1, 68), Is.EqualTo(-1));
        Assert.That(m.Words[3], Is.EqualTo(1UL << 5));
        m[1, 69] = false;
        Assert.That(m.Words[3], Is.Zero);
    }

    [TestCase(0, 70)]
    [TestCase(0, 128)]
    [TestCase(0, -1)]
    [TestCase(2, 0)]
    [TestCase(-1, 0)]
    public void IndexerOutsideTheMatrixThrowsAndWritesNothing(int row, int column)
    {
        var m = new BitMatrix(2, 70);
        Assert.That(() => m[row, column] = true, Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("outside the 2x70 matrix"));
        Assert.That(() => m[row, column], Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(m.Words, Is.All.Zero);
        Assert.That(m.PaddingIsZero(), Is.True);
    }

    [Test]
    public void NonZeroPaddingIsRefused() =>
        Assert.That(() => new BitMatrix(1, 3, [0b1000UL]), Throws.ArgumentException.With.Message.Contains("padding"));

    [Test]
    public void WrongWordCountIsRefused() =>
        Assert.That(() => new BitMatrix(2, 65, new ulong[3]), Throws.ArgumentException.With.Message.Contains("expected 4 words"));

    [Test]
    public void CloneIsEqualAndIndependent()
    {
        var m = BitMatrix.Random(3, 100, new Random(1));
        var c = m.Clone();
        Assert.That(c, Is.EqualTo(m));
        c[0, 0] = !c[0, 0];
        Assert.That(c, Is.Not.EqualTo(m));
    }

    [Test]
    public void CopyBitsMatchesBitByBitCopy()
    {
        var r = new Random(3);
        var src = new ulong[4];
        for (int i = 0; i < src.Length; i++) src[i] = (ulong)r.NextInt64() ^ ((ulong)r.Next() << 40);
        for (int trial = 0; trial < 500; trial++)
        {
            int count = r.Next(0, 120), from = r.Next(0, 256 - count), to = r.Next(0, 256 - count);
            var dst = new ulong[4];
            Im2Col.CopyBits(src, from, dst, to, count);
            for (int i = 0; i < 256; i++)
            {
                bool expected = i >= to && i < to + count && (src[(from + i - to) >> 6] >> ((from + i - to) & 63) & 1) != 0;
                Assert.That((dst[i >> 6] >> (i & 63) & 1) != 0, Is.EqualTo(expected), $"bit {i} after copying {count} bits {from}->{to}");
            }
        }
    }
}
