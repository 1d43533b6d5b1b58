using HilBench.Board.Protocol;

namespace HilBench.Board.Tests.Protocol;

/// <summary>Reply payloads too short, too long or out of range are refused with the command and the sizes in the message.</summary>
[TestFixture]
public class MessageTests
{
    private static BoardDescription Description(string firmware = "fake 1") => new()
    {
        Version = 1, MinVersion = 1, MaxPayload = 4096, Capabilities = BoardCapabilities.CompareWritten | (BoardCapabilities)0x100,
        Blocks = 4, RowsPerBlock = 8, BitsPerRow = 64, WordBits = 32,
        VoltageNominalMv = 900, VoltageFloorMv = 600, VoltageMaxMv = 950, VoltageStepMv = 10,
        TrcdNominal = 1350, TrcdMin = 900, TrcdMax = 1350, TrcdStep = 50,
        TemperatureNominal = 250, TemperatureMin = -400, TemperatureMax = 850, TemperatureStep = 10,
        SettleMs = 5, LeaseMs = 1000, Firmware = firmware,
    };

    [Test]
    public void BoardDescriptionRoundTripsAndKeepsUnknownCapabilities()
    {
        var d = Description();
        var back = BoardDescription.Parse(d.ToPayload());
        Assert.That(back, Is.EqualTo(d));
        Assert.That(back.Has(BoardCapabilities.CompareWritten), Is.True);
        Assert.That(back.Geometry, Is.EqualTo(new HilBench.Memory.Geometry.MemoryGeometry(4, 8, 64, 32)));
    }

    [Test]
    public void HelloReplyOfTheWrongSizeNamesCommandAndSizes()
    {
        var p = Description().ToPayload();
        var e = Assert.Throws<BoardProtocolException>(() => BoardDescription.Parse(p.AsSpan(0, 40)));
        Assert.That(e!.Message, Does.Contain("HELLO").And.Contain("40 bytes").And.Contain("at least 53"));
        e = Assert.Throws<BoardProtocolException>(() => BoardDescription.Parse([.. p, 0x41]));
        Assert.That(e!.Message, Does.Contain("HELLO").And.Contain($"{p.Length + 1} bytes").And.Contain($"{p.Length}"));
    }

    [Test]
    public void HelloReplyWithImpossibleGeometryIsRefused()
    {
        var e = Assert.Throws<BoardProtocolException>(() => BoardDescription.Parse((Description() with { BitsPerRow = 12, WordBits = 12 }).ToPayload()));
        Assert.That(e!.Message, Does.Contain("multiple of 8"));
        Assert.Throws<BoardProtocolException>(() => BoardDescription.Parse((Description() with { Blocks = 0 }).ToPayload()));
        Assert.Throws<BoardProtocolException>(() => BoardDescription.Parse((Description() with { WordBits = 24 }).ToPayload()));
    }

    [Test]
    public void TelemetryAndOperatingPointSizesAreExact()
    {
        var e = Assert.Throws<BoardProtocolException>(() => Telemetry.Parse(new byte[20]));
        Assert.That(e!.Message, Does.Contain("GET_TELEMETRY").And.Contain("20 bytes").And.Contain("21"));
        Assert.Throws<BoardProtocolException>(() => Telemetry.Parse(new byte[22]));
        e = Assert.Throws<BoardProtocolException>(() => BoardOperatingPoint.Parse(new byte[7]));
        Assert.That(e!.Message, Does.Contain("SET_OP").And.Contain("7 bytes").And.Contain("6"));
    }

    [Test]
    public void TelemetryFlagsAndUnits()
    {
        var t = new Telemetry(600, 598, 0, -55, 0, 1, 0, 1);
        Assert.That(t.LeaseExpired, Is.True);
        Assert.That(t.Measured(false), Is.EqualTo(new HilBench.Memory.OperatingPoint(0.598, null, -5.5)));
        Assert.That(Telemetry.Parse(t.ToPayload()), Is.EqualTo(t));
    }

    [Test]
    public void CompareReplyRoundTripsRandomBits()
    {
        var random = new Random(8);
        for (int trial = 0; trial < 500; trial++)
        {
            uint address = (uint)random.Next(0, 1 << 20);
            uint next = address + (uint)random.Next(1, 1 << 20);
            var bits = Enumerable.Range(0, random.Next(0, 200)).Select(_ => 8L * address + random.NextInt64(8L * (next - address))).Distinct().Order().ToArray();
            var reply = new CompareReply(bits, next, random.Next(2) == 1);
            var back = CompareReply.Parse(reply.ToPayload(address), address);
            Assert.That((back.Bits, back.Next, back.Done), Is.EqualTo((bits, next, reply.Done)));
        }
    }

    [TestCase("", "at least 9")]
    [TestCase("01000000 20000000 01", "at least 10 for 1 bit addresses")]
    [TestCase("01000000 20000000 01 0000", "1 bytes too many")]
    [TestCase("01000000 20000000 02 00", "done is 2")]
    [TestCase("01000000 20000000 01 80", "cut off")]
    [TestCase("01000000 20000000 01 FFFFFFFFFF01", "beyond the last cell")]
    [TestCase("00000000 0F000000 01", "before the start")]
    public void BrokenCompareRepliesAreRefused(string hex, string expected)
    {
        var e = Assert.Throws<BoardProtocolException>(() => CompareReply.Parse(Convert.FromHexString(hex.Replace(" ", "")), 16));
        Assert.That(e!.Message, Does.Contain("COMPARE").And.Contain(expected));
    }

    [Test]
    public void RequestBuildersRefuseWhatTheBoardWould()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Requests.Write(0, new byte[4093]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Requests.Write(0, []));
        Assert.Throws<ArgumentOutOfRangeException>(() => Requests.Read(0, 4097));
        Assert.Throws<ArgumentOutOfRangeException>(() => Requests.Fill(0, 10, new byte[17]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Requests.ComparePattern(0, 10, []));
        Assert.Throws<ArgumentOutOfRangeException>(() => Requests.Lease(99));
        Assert.Throws<ArgumentException>(() => FrameEncoder.Encode(Frame.Request(1, Command.Write, new byte[4097])));
    }
}
