using System.Diagnostics;
using HilBench.Board.Protocol;
using HilBench.Board.Tests.Support;

namespace HilBench.Board.Tests.Protocol;

/// <summary>
/// Random and mutated input against the streaming decoder, checked against the plain receiver in
/// <see cref="Reference"/>: same outcome for every run between delimiters, and no frame accepted unless its CRC
/// really matches. One decoder takes all inputs in a row, so state carried from one input to the next is exercised too.
/// </summary>
[TestFixture]
public class FrameDecoderFuzzTests
{
    private const int Inputs = 100_000;

    private sealed class Tally
    {
        public long Accepted, AcceptedOriginal, AcceptedChanged, Rejected, Segments;

        public override string ToString() =>
            $"{Segments} runs: {Accepted} accepted ({AcceptedOriginal} unchanged originals, {AcceptedChanged} changed but with a matching CRC), {Rejected} rejected";
    }

    /// <summary>Feeds one input plus a delimiter and checks the decoder's frames against the reference's, run by run.</summary>
    private static void FeedAndCheck(FrameDecoder decoder, byte[] input, Frame? original, Tally tally)
    {
        var expected = Reference.ReceiveAll([.. input, 0]);
        var before = decoder.Counts;
        var actual = decoder.FeedAndTake([.. input, 0]);
        var after = decoder.Counts;
        var expectedFrames = expected.Where(e => e.Item1 is Reference.Outcome.Ok or Reference.Outcome.BadCrc or Reference.Outcome.BadLength).ToList();
        Assert.That(actual, Has.Count.EqualTo(expectedFrames.Count), () => $"input {Convert.ToHexString(input)}");
        for (int i = 0; i < actual.Count; i++)
        {
            var (outcome, frame) = expectedFrames[i];
            var check = outcome switch { Reference.Outcome.Ok => FrameCheck.Ok, Reference.Outcome.BadCrc => FrameCheck.BadCrc, _ => FrameCheck.BadLength };
            Assert.That(actual[i].Check, Is.EqualTo(check), () => $"input {Convert.ToHexString(input)}");
            Assert.That(actual[i].Frame, Is.EqualTo(frame));
            if (actual[i].IsOk)
            {
                // The reference accepted the same frame, so the CRC of the received bytes matched (its own bitwise CRC checked them).
                tally.Accepted++;
                if (original is not null && actual[i].Frame.Equals(original)) tally.AcceptedOriginal++;
                else tally.AcceptedChanged++;
            }
        }
        tally.Segments += expected.Count;
        tally.Rejected += expected.Count(e => e.Item1 != Reference.Outcome.Ok);
        Assert.That(after.Garbage - before.Garbage, Is.EqualTo(expected.Count(e => e.Item1 == Reference.Outcome.Garbage)));
        Assert.That(after.TooLong - before.TooLong, Is.EqualTo(expected.Count(e => e.Item1 == Reference.Outcome.TooLong)));
        Assert.That(after.BadFlags - before.BadFlags, Is.EqualTo(expected.Count(e => e.Item1 == Reference.Outcome.BadFlags)));
    }

    [Test]
    public void RandomByteStrings()
    {
        var random = new Random(20240601);
        var decoder = new FrameDecoder();
        var tally = new Tally();
        var clock = Stopwatch.StartNew();
        for (int n = 0; n < Inputs; n++)
        {
            // Mostly short strings, some dense in zeros, a few longer than any frame.
            int length = n % 1000 == 1 ? random.Next(4100, 9000) : random.Next(0, 160);
            var input = new byte[length];
            random.NextBytes(input);
            if (n % 4 == 0)
                for (int i = 0; i < input.Length; i++) if (input[i] < 40) input[i] = 0;
            if (n % 4 == 1)
                for (int i = 0; i < input.Length; i++) if (input[i] == 0) input[i] = 1;
            FeedAndCheck(decoder, input, null, tally);
        }
        clock.Stop();
        TestContext.Out.WriteLine($"{Inputs} random byte strings in {clock.ElapsedMilliseconds} ms: {tally}");
        Assert.That(tally.AcceptedChanged, Is.Zero, "a random string passing a CRC-32C is a one-in-four-billion event");
        Assert.That(decoder.Counts.TooLong, Is.GreaterThan(0));
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(30)));
    }

    [Test]
    public void MutatedValidFrames()
    {
        var random = new Random(77);
        var decoder = new FrameDecoder();
        var tally = new Tally();
        var clock = Stopwatch.StartNew();
        for (int n = 0; n < Inputs; n++)
        {
            var payload = new byte[random.Next(0, n % 100 == 0 ? 4097 : 120)];
            random.NextBytes(payload);
            if (n % 2 == 0)
                for (int i = 0; i < payload.Length; i++) if (payload[i] < 64) payload[i] = 0;
            var original = new Frame(1, random.Next(2) == 1, (ushort)random.Next(65536), (Command)random.Next(1, 10), (Status)random.Next(10), payload);
            var wire = FrameEncoder.Encode(original).AsSpan(0..^1).ToArray(); // the delimiter comes from FeedAndCheck
            var mutated = Mutate(wire, random);
            FeedAndCheck(decoder, mutated, original, tally);
        }
        clock.Stop();
        TestContext.Out.WriteLine($"{Inputs} mutated frames in {clock.ElapsedMilliseconds} ms: {tally}");
        Assert.That(tally.AcceptedChanged, Is.Zero);
        Assert.That(tally.Rejected, Is.GreaterThan(Inputs / 2));
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(30)));
    }

    private static byte[] Mutate(byte[] wire, Random random)
    {
        var w = wire.ToList();
        int mutations = random.Next(1, 4);
        for (int m = 0; m < mutations && w.Count > 0; m++)
            switch (random.Next(6))
            {
                case 0: // flip a bit
                {
                    int i = random.Next(w.Count);
                    w[i] ^= (byte)(1 << random.Next(8));
                    break;
                }
                case 1: // replace a byte
                    w[random.Next(w.Count)] = (byte)random.Next(256);
                    break;
                case 2: // drop a byte
                    w.RemoveAt(random.Next(w.Count));
                    break;
                case 3: // insert a byte
                    w.Insert(random.Next(w.Count + 1), (byte)random.Next(256));
                    break;
                case 4: // truncate
                {
                    int keep = random.Next(w.Count);
                    w.RemoveRange(keep, w.Count - keep);
                    break;
                }
                default: // duplicate a stretch
                {
                    int at = random.Next(w.Count), length = random.Next(1, Math.Min(16, w.Count - at) + 1);
                    w.InsertRange(at, w.GetRange(at, length));
                    break;
                }
            }
        return w.ToArray();
    }
}
