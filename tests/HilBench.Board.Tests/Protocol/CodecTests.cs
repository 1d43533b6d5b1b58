using HilBench.Board.Protocol;
using HilBench.Board.Tests.Support;

namespace HilBench.Board.Tests.Protocol;

[TestFixture]
public class CobsTests
{
    private static byte[] NonZero(int n, int start = 1) => Enumerable.Range(0, n).Select(i => (byte)((i + start - 1) % 255 + 1)).ToArray();

    [TestCase("", "01")]
    [TestCase("00", "0101")]
    [TestCase("0000", "010101")]
    [TestCase("11220033", "0311220233")]
    [TestCase("112233", "04112233")]
    public void EncodesTextbookCases(string data, string encoded)
    {
        Assert.That(Convert.ToHexString(Cobs.Encode(Convert.FromHexString(data))), Is.EqualTo(encoded.ToUpperInvariant()));
        Assert.That(Cobs.Decode(Convert.FromHexString(encoded)), Is.EqualTo(Convert.FromHexString(data)));
    }

    [TestCase(253, "FD run: one block, no full-block code")]
    [TestCase(254, "exactly one full block: 0xFF then a trailing 0x01")]
    [TestCase(255, "a full block and a block of one")]
    [TestCase(508, "two full blocks")]
    public void FullBlockEdge(int n, string why)
    {
        var data = NonZero(n);
        var encoded = Cobs.Encode(data);
        Assert.That(encoded, Has.Length.EqualTo(n + n / 254 + 1), why);
        Assert.That(encoded, Has.None.EqualTo(0));
        if (n >= 254) Assert.That(encoded[0], Is.EqualTo(0xFF), why);
        if (n % 254 == 0) Assert.That(encoded[^1], Is.EqualTo(0x01), why);
        Assert.That(Cobs.Decode(encoded), Is.EqualTo(data), why);
    }

    [Test]
    public void FullBlockFollowedByZero()
    {
        var data = NonZero(254).Append((byte)0).Append((byte)7).ToArray();
        var encoded = Cobs.Encode(data);
        Assert.That(encoded[0], Is.EqualTo(0xFF));
        Assert.That(encoded[255..], Is.EqualTo(new byte[] { 0x01, 0x02, 0x07 }));
        Assert.That(Cobs.Decode(encoded), Is.EqualTo(data));
    }

    [Test]
    public void RoundTripsRandomDataAgainstTheReferenceDecoder()
    {
        var random = new Random(11);
        for (int trial = 0; trial < 2000; trial++)
        {
            var data = new byte[random.Next(0, 5000)];
            random.NextBytes(data);
            if (trial % 3 == 0)
                for (int i = 0; i < data.Length; i++) if (data[i] < 200) data[i] = 0; // mostly zeros
            var encoded = Cobs.Encode(data);
            Assert.That(encoded, Has.None.EqualTo(0));
            Assert.That(encoded.Length, Is.LessThanOrEqualTo(Cobs.MaxEncodedLength(data.Length)));
            Assert.That(Cobs.Decode(encoded), Is.EqualTo(data));
            Assert.That(Reference.CobsDecode(encoded), Is.EqualTo(data));
        }
    }

    [TestCase("", "empty")]
    [TestCase("0901 02", "code points past the end")]
    [TestCase("0300 01", "zero inside a block")]
    [TestCase("00", "zero code")]
    public void RejectsInvalidEncodings(string hex, string why)
    {
        var encoded = Convert.FromHexString(hex.Replace(" ", ""));
        Assert.That(Cobs.TryDecode(encoded, new byte[64], out _), Is.False, why);
        Assert.Throws<FormatException>(() => Cobs.Decode(encoded));
    }

    [Test]
    public void DecodeRefusesToOverrunTheDestination() =>
        Assert.That(Cobs.TryDecode(Cobs.Encode(NonZero(100)), new byte[99], out _), Is.False);
}

[TestFixture]
public class Crc32CTests
{
    [Test]
    public void CheckValue() => Assert.That(Crc32C.Compute("123456789"u8), Is.EqualTo(0xE3069283u));

    [Test]
    public void EmptyInputIsZero() => Assert.That(Crc32C.Compute([]), Is.Zero);

    [Test]
    public void MatchesTheBitwiseDefinitionAtEveryLengthAndAlignment()
    {
        var random = new Random(5);
        var data = new byte[300];
        random.NextBytes(data);
        for (int start = 0; start < 9; start++)
            for (int length = 0; length < 120; length++)
                Assert.That(Crc32C.Compute(data.AsSpan(start, length)), Is.EqualTo(Reference.Crc32C(data.AsSpan(start, length))), $"start {start}, length {length}");
    }

    [Test]
    public void UpdateContinuesARegister()
    {
        var data = "hilbench board protocol"u8.ToArray();
        uint register = Crc32C.Update(0xFFFFFFFF, data.AsSpan(0, 7));
        Assert.That(~Crc32C.Update(register, data.AsSpan(7)), Is.EqualTo(Crc32C.Compute(data)));
    }
}

[TestFixture]
public class Leb128Tests
{
    [TestCase(0ul, "00")]
    [TestCase(1ul, "01")]
    [TestCase(127ul, "7F")]
    [TestCase(128ul, "8001")]
    [TestCase(300ul, "AC02")]
    [TestCase(99999ul, "9F8D06")]
    [TestCase(0xFFFFFFFFul, "FFFFFFFF0F")]
    [TestCase(ulong.MaxValue, "FFFFFFFFFFFFFFFFFF01")]
    public void KnownEncodings(ulong value, string hex)
    {
        var buffer = new byte[Leb128.MaxLength];
        int n = Leb128.Write(value, buffer);
        Assert.That(Convert.ToHexString(buffer, 0, n), Is.EqualTo(hex));
        Assert.That(Leb128.Length(value), Is.EqualTo(n));
        Assert.That(Leb128.TryRead(Convert.FromHexString(hex + "55"), out ulong read, out int used), Is.True);
        Assert.That((read, used), Is.EqualTo((value, n)));
    }

    [Test]
    public void RoundTripsRandomValues()
    {
        var random = new Random(3);
        var buffer = new byte[Leb128.MaxLength];
        for (int i = 0; i < 10000; i++)
        {
            ulong v = (ulong)random.NextInt64() >> random.Next(64);
            int n = Leb128.Write(v, buffer);
            Assert.That(Leb128.TryRead(buffer.AsSpan(0, n), out ulong back, out int used) && back == v && used == n, $"{v}");
        }
    }

    [TestCase("", "empty")]
    [TestCase("80", "continuation without a next byte")]
    [TestCase("FFFFFFFFFFFFFFFFFF02", "more than 64 bits")]
    [TestCase("FFFFFFFFFFFFFFFFFF8100", "longer than 10 bytes")]
    public void RejectsBrokenVarints(string hex, string why) =>
        Assert.That(Leb128.TryRead(Convert.FromHexString(hex), out _, out _), Is.False, why);
}
