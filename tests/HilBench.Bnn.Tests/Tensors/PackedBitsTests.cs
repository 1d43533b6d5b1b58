using HilBench.Bnn.Tensors;
using NUnit.Framework;

namespace HilBench.Bnn.Tests.Tensors;

/// <summary>PackedBits against a plain bit-by-bit reference, at unaligned offsets and across word boundaries.</summary>
[TestFixture]
public class PackedBitsTests
{
    private const int Words = 5, Bits = Words * 64;

    private static bool Bit(ulong[] words, long i) => (words[i >> 6] >> (int)(i & 63) & 1) != 0;

    private static ulong[] RandomWords(Random r) => Enumerable.Range(0, Words).Select(_ => (ulong)r.NextInt64() ^ ((ulong)r.Next() << 40)).ToArray();

    [Test]
    public void GetAndSetAddressBitIOfWordIOver64()
    {
        var r = new Random(1);
        var words = RandomWords(r);
        for (long i = 0; i < Bits; i++) Assert.That(PackedBits.Get(words, i), Is.EqualTo(Bit(words, i)), $"bit {i}");
        for (int trial = 0; trial < 200; trial++)
        {
            long i = r.Next(Bits);
            bool value = r.Next(2) == 1;
            var expected = (ulong[])words.Clone();
            if (value) expected[i >> 6] |= 1UL << (int)(i & 63);
            else expected[i >> 6] &= ~(1UL << (int)(i & 63));
            PackedBits.Set(words, i, value);
            Assert.That(words, Is.EqualTo(expected), $"set bit {i} to {value}");
        }
    }

    [Test]
    public void ReadMatchesBitByBit()
    {
        var r = new Random(2);
        var words = RandomWords(r);
        for (int trial = 0; trial < 2000; trial++)
        {
            int count = r.Next(1, 65);
            long bit = r.Next(Bits - count + 1);
            ulong expected = 0;
            for (int k = 0; k < count; k++) if (Bit(words, bit + k)) expected |= 1UL << k;
            Assert.That(PackedBits.Read(words, bit, count), Is.EqualTo(expected), $"{count} bits at {bit}");
        }
    }

    [Test]
    public void WriteChangesExactlyTheRange()
    {
        var r = new Random(3);
        for (int trial = 0; trial < 2000; trial++)
        {
            var words = RandomWords(r);
            int count = r.Next(1, 65);
            long bit = r.Next(Bits - count + 1);
            ulong value = (ulong)r.NextInt64() ^ ((ulong)r.Next() << 40); // bits above count must be ignored
            var expected = (ulong[])words.Clone();
            for (int k = 0; k < count; k++)
            {
                long i = bit + k;
                if ((value >> k & 1) != 0) expected[i >> 6] |= 1UL << (int)(i & 63);
                else expected[i >> 6] &= ~(1UL << (int)(i & 63));
            }
            PackedBits.Write(words, bit, count, value);
            Assert.That(words, Is.EqualTo(expected), $"{count} bits at {bit}");
        }
    }

    [Test]
    public void CopyOverwritesExactlyTheTargetRange()
    {
        var r = new Random(4);
        for (int trial = 0; trial < 2000; trial++)
        {
            var source = RandomWords(r);
            var target = RandomWords(r);
            // Aligned starts (the word-copy path) a quarter of the time, with and without a partial last word.
            bool aligned = trial % 4 == 0;
            long count = r.Next(0, 200);
            long from = aligned ? 64 * r.Next((int)((Bits - count) / 64) + 1) : r.Next((int)(Bits - count) + 1);
            long to = aligned ? 64 * r.Next((int)((Bits - count) / 64) + 1) : r.Next((int)(Bits - count) + 1);
            var expected = (ulong[])target.Clone();
            for (long k = 0; k < count; k++)
            {
                long i = to + k;
                if (Bit(source, from + k)) expected[i >> 6] |= 1UL << (int)(i & 63);
                else expected[i >> 6] &= ~(1UL << (int)(i & 63));
            }
            PackedBits.Copy(source, from, target, to, count);
            Assert.That(target, Is.EqualTo(expected), $"{count} bits {from} -> {to}");
        }
    }
}
