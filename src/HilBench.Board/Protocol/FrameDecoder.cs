using System.Buffers.Binary;

namespace HilBench.Board.Protocol;

/// <summary>How a frame that carried a readable header fared (PROTOCOL.md §1).</summary>
public enum FrameCheck
{
    Ok,

    /// <summary>The header's length field disagrees with the body's size; the fields are as read.</summary>
    BadLength,

    /// <summary>The CRC does not match; the fields are as read.</summary>
    BadCrc,
}

/// <summary>A frame as the decoder found it: only <see cref="FrameCheck.Ok"/> frames may be acted on; the others carry their header so a board can answer them.</summary>
public readonly record struct DecodedFrame(FrameCheck Check, Frame Frame)
{
    public bool IsOk => Check == FrameCheck.Ok;
}

/// <summary>What a decoder has seen so far, by the categories of PROTOCOL.md §1.</summary>
public readonly record struct FrameDecoderCounts(long Frames, long Garbage, long BadLength, long BadCrc, long TooLong, long BadFlags, long Bytes)
{
    /// <summary>Everything that was dropped or refused, for "the link is noisy" diagnostics.</summary>
    public long Rejected => Garbage + BadLength + BadCrc + TooLong + BadFlags;
}

/// <summary>
/// A streaming receiver: feed it bytes as they arrive, in any split, and take the frames it completes. It never
/// holds more than one frame's worth of encoded bytes (4125); a run without a delimiter longer than that is
/// dropped up to the next 0x00, which is also how it resynchronises after garbage. Frames with reserved flag
/// bits set are discarded (counted as <see cref="FrameDecoderCounts.BadFlags"/>); whether a frame is a request
/// or a reply is the caller's business.
/// </summary>
public sealed class FrameDecoder
{
    private readonly byte[] _encoded = new byte[Frame.MaxEncodedBody];
    private readonly byte[] _body = new byte[Frame.MaxEncodedBody];
    private readonly Queue<DecodedFrame> _ready = new();
    private int _length;
    private bool _skippingTooLong;
    private long _frames, _garbage, _badLength, _badCrc, _tooLong, _badFlags, _bytes;

    public FrameDecoderCounts Counts => new(_frames, _garbage, _badLength, _badCrc, _tooLong, _badFlags, _bytes);

    /// <summary>Frames completed and not yet taken.</summary>
    public int Pending => _ready.Count;

    public void Feed(ReadOnlySpan<byte> bytes)
    {
        _bytes += bytes.Length;
        while (!bytes.IsEmpty)
        {
            int end = bytes.IndexOf((byte)0);
            var run = end < 0 ? bytes : bytes[..end];
            if (!_skippingTooLong)
            {
                if (run.Length > _encoded.Length - _length)
                {
                    _tooLong++;
                    _skippingTooLong = true;
                    _length = 0;
                }
                else
                {
                    run.CopyTo(_encoded.AsSpan(_length));
                    _length += run.Length;
                }
            }
            if (end < 0) return;
            if (_skippingTooLong) _skippingTooLong = false;
            else Complete();
            bytes = bytes[(end + 1)..];
        }
    }

    public bool TryTake(out DecodedFrame frame) => _ready.TryDequeue(out frame);

    /// <summary>Feeds the bytes and returns every frame they complete (and any still pending).</summary>
    public List<DecodedFrame> FeedAndTake(ReadOnlySpan<byte> bytes)
    {
        Feed(bytes);
        var frames = new List<DecodedFrame>(_ready.Count);
        while (_ready.TryDequeue(out var f)) frames.Add(f);
        return frames;
    }

    /// <summary>Forgets a partial frame and every pending one, as after reopening the link.</summary>
    public void Clear()
    {
        _ready.Clear();
        _length = 0;
        _skippingTooLong = false;
    }

    private void Complete()
    {
        int encodedLength = _length;
        _length = 0;
        if (!Cobs.TryDecode(_encoded.AsSpan(0, encodedLength), _body, out int n) || n < Frame.MinBody || n > Frame.MaxBody)
        {
            _garbage++;
            return;
        }
        var body = _body.AsSpan(0, n);
        byte flags = body[1];
        int length = BinaryPrimitives.ReadUInt16LittleEndian(body[6..]);
        var frame = new Frame(body[0], (flags & 1) != 0, BinaryPrimitives.ReadUInt16LittleEndian(body[2..]), (Command)body[4], (Status)body[5],
            body[Frame.HeaderLength..(n - Frame.CrcLength)].ToArray());
        // In PROTOCOL.md §1's order, as the reference firmware checks: flags, CRC, length field. A frame that fails
        // more than one check is counted once, under the first, the same way on both ends.
        if ((flags & 0xFE) != 0)
        {
            _badFlags++;
            return;
        }
        if (BinaryPrimitives.ReadUInt32LittleEndian(body[(n - Frame.CrcLength)..]) != Crc32C.Compute(body[..(n - Frame.CrcLength)]))
        {
            _badCrc++;
            _ready.Enqueue(new DecodedFrame(FrameCheck.BadCrc, frame));
            return;
        }
        if (length != n - Frame.MinBody)
        {
            _badLength++;
            _ready.Enqueue(new DecodedFrame(FrameCheck.BadLength, frame));
            return;
        }
        _frames++;
        _ready.Enqueue(new DecodedFrame(FrameCheck.Ok, frame));
    }
}
