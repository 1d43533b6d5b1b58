using HilBench.Board.Protocol;
using HilBench.Board.Tests.Support;

namespace HilBench.Board.Tests.Protocol;

/// <summary>firmware-protocol/vectors/frames.txt, the frames both this codec and the firmware must agree on.</summary>
[TestFixture]
public class GoldenVectorTests
{
    private static IEnumerable<GoldenVector> Vectors() => GoldenVectors.All;

    private static IEnumerable<GoldenVector> OkVectors() => GoldenVectors.All.Where(v => v.Result == "ok");

    private static GoldenVector Named(string name) => GoldenVectors.All.Single(v => v.Name == name);

    private static Frame DecodeOk(string name)
    {
        var frames = new FrameDecoder().FeedAndTake(Named(name).Wire);
        Assert.That(frames, Has.Count.EqualTo(1));
        Assert.That(frames[0].Check, Is.EqualTo(FrameCheck.Ok));
        return frames[0].Frame;
    }

    [Test]
    public void TheFileHasEveryKindOfVector()
    {
        Assert.That(GoldenVectors.All, Has.Count.GreaterThanOrEqualTo(20));
        Assert.That(GoldenVectors.All.Select(v => v.Result).Distinct(), Is.EquivalentTo(new[] { "ok", "bad_crc", "bad_length", "garbage" }));
    }

    [TestCaseSource(nameof(Vectors))]
    public void DecodesToItsExpectedResultAndFields(GoldenVector v)
    {
        var decoder = new FrameDecoder();
        var frames = decoder.FeedAndTake(v.Wire);
        if (v.Result == "garbage")
        {
            Assert.That(frames, Is.Empty, v.Meaning);
            Assert.That(decoder.Counts.Garbage, Is.EqualTo(1), v.Meaning);
            return;
        }
        Assert.That(frames, Has.Count.EqualTo(1), v.Meaning);
        var (check, f) = (frames[0].Check, frames[0].Frame);
        var expected = v.Result switch { "ok" => FrameCheck.Ok, "bad_crc" => FrameCheck.BadCrc, "bad_length" => FrameCheck.BadLength, _ => throw new FormatException(v.Result) };
        Assert.Multiple(() =>
        {
            Assert.That(check, Is.EqualTo(expected), v.Meaning);
            Assert.That(f.Version, Is.EqualTo(v.Version));
            Assert.That(f.IsReply ? 1 : 0, Is.EqualTo(v.Flags));
            Assert.That(f.RequestId, Is.EqualTo(v.RequestId));
            Assert.That((byte)f.Command, Is.EqualTo(v.Command));
            Assert.That((byte)f.Status, Is.EqualTo(v.Status));
            Assert.That(f.Payload.ToArray(), Is.EqualTo(v.Payload));
        });
    }

    [TestCaseSource(nameof(OkVectors))]
    public void OkVectorsReencodeByteForByte(GoldenVector v)
    {
        var frame = new Frame(v.Version!.Value, v.Flags == 1, v.RequestId!.Value, (Command)v.Command!.Value, (Status)v.Status!.Value, v.Payload);
        Assert.That(Convert.ToHexString(FrameEncoder.Encode(frame)), Is.EqualTo(Convert.ToHexString(v.Wire)), v.Meaning);
    }

    [Test]
    public void AllVectorsBackToBackDecodeAsTheyDoAlone()
    {
        var stream = GoldenVectors.All.SelectMany(v => v.Wire).ToArray();
        var decoder = new FrameDecoder();
        var frames = decoder.FeedAndTake(stream);
        Assert.That(frames.Select(f => f.Frame.RequestId), Is.EqualTo(GoldenVectors.All.Where(v => v.Result != "garbage").Select(v => v.RequestId!.Value)));
        var counts = decoder.Counts;
        Assert.That((counts.Frames, counts.BadCrc, counts.BadLength, counts.Garbage), Is.EqualTo((
            GoldenVectors.All.Count(v => v.Result == "ok"), 1L, 1L, 3L)));
    }

    [Test]
    public void CrcCheckValueMatchesTheHeaderLine()
    {
        Assert.That(Crc32C.Compute("123456789"u8), Is.EqualTo(0xE3069283u));
        Assert.That(File.ReadAllText(GoldenVectors.PathOf), Does.Contain("CRC-32C(\"123456789\") = E3069283"));
    }

    [Test]
    public void HelloReplyIsTheEmulatorsDefaultChip()
    {
        var f = DecodeOk("hello-reply");
        var d = BoardDescription.Parse(f.Payload.Span);
        Assert.Multiple(() =>
        {
            Assert.That(d.Version, Is.EqualTo(1));
            Assert.That(d.MinVersion, Is.EqualTo(1));
            Assert.That(d.MaxPayload, Is.EqualTo(4096));
            Assert.That(d.Capabilities, Is.EqualTo(BoardCapabilities.Temperature | BoardCapabilities.Current | BoardCapabilities.CompareWritten | BoardCapabilities.Emulated));
            Assert.That((d.ControlsTemperature, d.ControlsTrcd), Is.EqualTo((true, false)));
            Assert.That(d.Geometry.ToString(), Is.EqualTo("256x1024x32"));
            Assert.That(d.TotalBytes, Is.EqualTo(1 << 20));
            Assert.That((d.VoltageNominalMv, d.VoltageFloorMv, d.VoltageMaxMv, d.VoltageStepMv), Is.EqualTo(((ushort)1000, (ushort)500, (ushort)1000, (ushort)5)));
            Assert.That((d.TrcdNominal, d.TrcdMin, d.TrcdMax, d.TrcdStep), Is.EqualTo(((ushort)0, (ushort)0, (ushort)0, (ushort)0)));
            Assert.That((d.TemperatureNominal, d.TemperatureMin, d.TemperatureMax, d.TemperatureStep), Is.EqualTo(((short)250, (short)0, (short)850, (short)50)));
            Assert.That(d.SettleMs, Is.EqualTo(2));
            Assert.That(d.LeaseMs, Is.EqualTo(5000));
            Assert.That(d.Firmware, Is.EqualTo("hilboard-emu 1.0.0"));
            Assert.That(d.NominalPoint, Is.EqualTo(new HilBench.Memory.OperatingPoint(1.0, null, 25)));
        });
        Assert.That(d.ToPayload(), Is.EqualTo(f.Payload.ToArray()));
    }

    [Test]
    public void TelemetryReplyFields()
    {
        var f = DecodeOk("telemetry-reply");
        var t = Telemetry.Parse(f.Payload.Span);
        Assert.That(t, Is.EqualTo(new Telemetry(550, 549, 12345, 250, 0, 60000, 1500, 0)));
        Assert.That(t.LeaseExpired, Is.False);
        Assert.That(t.ToPayload(), Is.EqualTo(f.Payload.ToArray()));
    }

    [Test]
    public void CompareRepliesDecodeToTheirBitAddresses()
    {
        var done = CompareReply.Parse(DecodeOk("compare-reply").Payload.Span, 1024);
        Assert.That((done.Bits, done.Next, done.Done), Is.EqualTo((new long[] { 8195, 8200, 8201 }, 2048u, true)));
        var partial = CompareReply.Parse(DecodeOk("compare-reply-varint").Payload.Span, 0);
        Assert.That((partial.Bits, partial.Next, partial.Done), Is.EqualTo((new long[] { 300, 100300 }, 13000u, false)));
        Assert.That(done.ToPayload(1024), Is.EqualTo(DecodeOk("compare-reply").Payload.ToArray()));
        Assert.That(partial.ToPayload(0), Is.EqualTo(DecodeOk("compare-reply-varint").Payload.ToArray()));
    }

    [Test]
    public void RequestBuildersProduceTheVectorsPayloads()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Requests.Hello(1, 1), Is.EqualTo(DecodeOk("hello-request").Payload.ToArray()));
            Assert.That(Requests.SetOp(new BoardOperatingPoint(550)), Is.EqualTo(DecodeOk("set-op-request").Payload.ToArray()));
            Assert.That(Requests.Write(0x100, [0, 0x11, 0, 0, 0x22]), Is.EqualTo(DecodeOk("write-zeros").Payload.ToArray()));
            Assert.That(Requests.Write(0x01020304, Enumerable.Range(1, 250).Select(i => (byte)i).ToArray()), Is.EqualTo(DecodeOk("write-254").Payload.ToArray()));
            Assert.That(Requests.Read(0x40, 16), Is.EqualTo(DecodeOk("read-request").Payload.ToArray()));
            Assert.That(Requests.Fill(0, 1 << 20, [0xAA, 0x55]), Is.EqualTo(DecodeOk("fill-request").Payload.ToArray()));
            Assert.That(Requests.ComparePattern(1024, 1024, [0xFF, 0xFF, 0xFF, 0xFF]), Is.EqualTo(DecodeOk("compare-pattern").Payload.ToArray()));
            Assert.That(Requests.CompareWritten(0, 727552), Is.EqualTo(DecodeOk("compare-written").Payload.ToArray()));
            Assert.That(Requests.Lease(2000), Is.EqualTo(DecodeOk("lease-request").Payload.ToArray()));
            Assert.That(DecodeOk("reset-request").Payload.Length, Is.Zero);
        });
        var setOp = BoardOperatingPoint.Parse(DecodeOk("set-op-request").Payload.Span);
        Assert.That(setOp, Is.EqualTo(new BoardOperatingPoint(550, BoardOperatingPoint.NominalTrcd, BoardOperatingPoint.NominalTemperature)));
    }
}
