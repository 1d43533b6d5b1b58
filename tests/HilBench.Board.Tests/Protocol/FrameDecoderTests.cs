using HilBench.Board.Protocol;

namespace HilBench.Board.Tests.Protocol;

[TestFixture]
public class FrameDecoderTests
{
    private static Frame Write(ushort id, int dataLength, int seed = 1)
    {
        var data = new byte[dataLength];
        new Random(seed).NextBytes(data);
        return Frame.Request(id, Command.Write, Requests.Write(0x1000, data));
    }

    private static byte[] Wire(Frame f) => FrameEncoder.Encode(f);

    [Test]
    public void DecodesBackToBackFrames()
    {
        var frames = Enumerable.Range(1, 20).Select(i => Write((ushort)i, i * 37, i)).ToArray();
        var decoded = new FrameDecoder().FeedAndTake(frames.SelectMany(Wire).ToArray());
        Assert.That(decoded.Select(d => d.Frame), Is.EqualTo(frames));
        Assert.That(decoded.All(d => d.IsOk));
    }

    [Test]
    public void ResynchronisesAfterGarbageBetweenFrames()
    {
        var random = new Random(2);
        var stream = new List<byte>();
        var frames = new List<Frame>();
        for (int i = 1; i <= 50; i++)
        {
            var garbage = new byte[random.Next(1, 60)];
            random.NextBytes(garbage);
            // Garbage always ends at a delimiter here, as it would on a line that is idle between frames.
            stream.AddRange(garbage);
            stream.Add(0);
            var f = Write((ushort)i, random.Next(1, 500), i);
            frames.Add(f);
            stream.AddRange(Wire(f));
        }
        var decoder = new FrameDecoder();
        var decoded = decoder.FeedAndTake(stream.ToArray());
        Assert.That(decoded.Where(d => d.IsOk).Select(d => d.Frame), Is.EqualTo(frames));
        Assert.That(decoder.Counts.Frames, Is.EqualTo(50));
        Assert.That(decoder.Counts.Garbage + decoder.Counts.BadCrc + decoder.Counts.BadLength, Is.GreaterThanOrEqualTo(45), "most garbage runs are counted as one of the rejects");
    }

    [Test]
    public void TruncatedFrameCostsItselfAndTheFrameItRunsInto()
    {
        var a = Wire(Write(1, 300));
        var b = Wire(Write(2, 20));
        var c = Wire(Write(3, 20));
        var decoder = new FrameDecoder();
        // a loses its tail (delimiter included), so it merges with b into one run that is not a frame.
        var decoded = decoder.FeedAndTake([.. a[..150], .. b, .. c]);
        Assert.That(decoded.Where(d => d.IsOk).Select(d => d.Frame.RequestId), Is.EqualTo(new ushort[] { 3 }));
        Assert.That(decoder.Counts.Frames, Is.EqualTo(1));
        Assert.That(decoder.Counts.Rejected, Is.EqualTo(1));
    }

    [Test]
    public void TruncatedFrameEndedByADelimiterIsRejected()
    {
        var a = Wire(Write(1, 300));
        var decoder = new FrameDecoder();
        for (int cut = 1; cut < a.Length - 1; cut++)
            Assert.That(decoder.FeedAndTake([.. a[..cut], 0]).Where(d => d.IsOk), Is.Empty, $"cut at {cut}");
        Assert.That(decoder.Counts.Frames, Is.Zero);
    }

    [Test]
    public void EveryFlippedBitIsCaught()
    {
        var wire = Wire(Write(9, 200));
        for (int bit = 0; bit < (wire.Length - 1) * 8; bit++)
        {
            var damaged = (byte[])wire.Clone();
            damaged[bit / 8] ^= (byte)(1 << (bit % 8));
            var decoder = new FrameDecoder();
            // A trailing delimiter flushes a flip that turned the frame into something still open.
            var decoded = decoder.FeedAndTake([.. damaged, 0]);
            Assert.That(decoded.Where(d => d.IsOk), Is.Empty, $"bit {bit}");
        }
    }

    [Test]
    public void BadCrcAndBadLengthKeepTheHeader()
    {
        var body = FrameEncoder.EncodeBody(Frame.Request(77, Command.Read, Requests.Read(0, 4)));
        body[^1] ^= 0x80;
        var decoded = new FrameDecoder().FeedAndTake([.. Cobs.Encode(body), 0]);
        Assert.That(decoded.Single().Check, Is.EqualTo(FrameCheck.BadCrc));
        Assert.That((decoded.Single().Frame.RequestId, decoded.Single().Frame.Command), Is.EqualTo(((ushort)77, Command.Read)));

        // A length field that disagrees with the body under a CRC that matches: bad length.
        var lying = FrameEncoder.EncodeBody(Frame.Request(78, Command.Read, Requests.Read(0, 4)));
        lying[6] = 7;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(lying.AsSpan(lying.Length - 4), Crc32C.Compute(lying.AsSpan(0, lying.Length - 4)));
        decoded = new FrameDecoder().FeedAndTake([.. Cobs.Encode(lying), 0]);
        Assert.That(decoded.Single().Check, Is.EqualTo(FrameCheck.BadLength));
        Assert.That(decoded.Single().Frame.RequestId, Is.EqualTo(78));

        // A body that lost a byte fails both; the CRC is checked first, as the firmware does.
        var shortened = FrameEncoder.EncodeBody(Frame.Request(79, Command.Read, Requests.Read(0, 4)));
        shortened = [.. shortened[..9], .. shortened[10..]];
        Assert.That(new FrameDecoder().FeedAndTake([.. Cobs.Encode(shortened), 0]).Single().Check, Is.EqualTo(FrameCheck.BadCrc));
    }

    [Test]
    public void ReservedFlagBitsAreDiscarded()
    {
        var body = FrameEncoder.EncodeBody(Frame.Request(5, Command.Reset));
        body[1] = 0x02;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(body.Length - 4), Crc32C.Compute(body.AsSpan(0, body.Length - 4)));
        var decoder = new FrameDecoder();
        Assert.That(decoder.FeedAndTake([.. Cobs.Encode(body), 0]), Is.Empty);
        Assert.That(decoder.Counts.BadFlags, Is.EqualTo(1));

        // Flags come before the CRC (PROTOCOL.md §1, as the firmware checks): a frame with both wrong is discarded, not answered BAD_CRC.
        body[^1] ^= 0x01;
        Assert.That(decoder.FeedAndTake([.. Cobs.Encode(body), 0]), Is.Empty);
        Assert.That((decoder.Counts.BadFlags, decoder.Counts.BadCrc), Is.EqualTo((2L, 0L)));
    }

    [Test]
    public void LargestFrameFitsAndOneMoreByteIsTooLong()
    {
        var largest = Frame.Reply(1, Command.Read, Status.Ok, Enumerable.Range(0, Frame.MaxPayload).Select(i => (byte)(i % 255 + 1)).ToArray());
        var wire = Wire(largest);
        Assert.That(wire.Length - 1, Is.EqualTo(Frame.MaxEncodedBody).And.EqualTo(4125));
        var decoder = new FrameDecoder();
        Assert.That(decoder.FeedAndTake(wire).Single().Frame, Is.EqualTo(largest));

        var tooLong = new byte[4126];
        Array.Fill(tooLong, (byte)0x42);
        var after = Write(2, 10);
        var decoded = decoder.FeedAndTake([.. tooLong, 0, .. Wire(after)]);
        Assert.That(decoded.Single().Frame, Is.EqualTo(after));
        Assert.That((decoder.Counts.TooLong, decoder.Counts.Garbage), Is.EqualTo((1L, 0L)), "the delimiter that ends a too-long run is not an empty frame");
    }

    [Test]
    public void AMegabyteWithoutDelimiterIsOneTooLongEvent()
    {
        var decoder = new FrameDecoder();
        var noise = new byte[1 << 20];
        Array.Fill(noise, (byte)0x7E);
        for (int i = 0; i < 16; i++) decoder.Feed(noise.AsSpan(i * (noise.Length / 16), noise.Length / 16));
        var f = Write(3, 10);
        Assert.That(decoder.FeedAndTake([0, .. Wire(f)]).Single().Frame, Is.EqualTo(f));
        Assert.That(decoder.Counts.TooLong, Is.EqualTo(1));
    }

    [Test]
    public void BodyLongerThanTheMaximumIsGarbage()
    {
        // Zeros keep the encoding short: a body of 4109 non-zero bytes would already be too long as COBS.
        var body = new byte[Frame.MaxBody + 1];
        for (int i = 0; i < body.Length; i += 2) body[i] = 1;
        var decoder = new FrameDecoder();
        Assert.That(decoder.FeedAndTake([.. Cobs.Encode(body), 0]), Is.Empty);
        Assert.That(decoder.Counts.Garbage, Is.EqualTo(1));
    }

    [Test]
    public void SplitAcrossManySmallReadsGivesTheSameFrames()
    {
        var random = new Random(4);
        var frames = Enumerable.Range(1, 30).Select(i => Write((ushort)i, random.Next(0, 4092), i)).ToArray();
        var stream = frames.SelectMany(Wire).ToArray();
        foreach (int maxChunk in new[] { 1, 2, 3, 7, 64, 1000 })
        {
            var decoder = new FrameDecoder();
            var decoded = new List<DecodedFrame>();
            for (int at = 0; at < stream.Length;)
            {
                int n = Math.Min(stream.Length - at, random.Next(1, maxChunk + 1));
                decoded.AddRange(decoder.FeedAndTake(stream.AsSpan(at, n)));
                at += n;
            }
            Assert.That(decoded.Select(d => d.Frame), Is.EqualTo(frames), $"chunks of up to {maxChunk} bytes");
        }
    }

    [Test]
    public void ClearDropsAPartialFrame()
    {
        var wire = Wire(Write(1, 40));
        var decoder = new FrameDecoder();
        decoder.Feed(wire.AsSpan(0, 20));
        decoder.Clear();
        var f = Write(2, 40);
        Assert.That(decoder.FeedAndTake(Wire(f)).Single().Frame, Is.EqualTo(f));
    }
}
