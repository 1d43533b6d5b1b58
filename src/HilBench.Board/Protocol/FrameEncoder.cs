using System.Buffers.Binary;

namespace HilBench.Board.Protocol;

/// <summary>Turns a <see cref="Frame"/> into wire bytes: COBS(header payload CRC-32C) 0x00 (PROTOCOL.md §1).</summary>
public static class FrameEncoder
{
    /// <summary>The most wire bytes a frame can take, delimiter included (4126).</summary>
    public static readonly int MaxWireLength = Frame.MaxEncodedBody + 1;

    public static int BodyLength(Frame frame) => Frame.HeaderLength + frame.Payload.Length + Frame.CrcLength;

    /// <summary>Writes header, payload and CRC into <paramref name="body"/>; returns the body length.</summary>
    public static int WriteBody(Frame frame, Span<byte> body)
    {
        var payload = frame.Payload.Span;
        if (payload.Length > Frame.MaxPayload)
            throw new ArgumentException($"a {ProtocolNames.Of(frame.Command)} payload of {payload.Length} bytes exceeds the protocol's maximum of {Frame.MaxPayload}", nameof(frame));
        int n = BodyLength(frame);
        if (body.Length < n) throw new ArgumentException($"the body needs {n} bytes, the buffer has {body.Length}", nameof(body));
        body[0] = frame.Version;
        body[1] = frame.IsReply ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteUInt16LittleEndian(body[2..], frame.RequestId);
        body[4] = (byte)frame.Command;
        body[5] = (byte)frame.Status;
        BinaryPrimitives.WriteUInt16LittleEndian(body[6..], (ushort)payload.Length);
        payload.CopyTo(body[Frame.HeaderLength..]);
        BinaryPrimitives.WriteUInt32LittleEndian(body[(n - Frame.CrcLength)..], Crc32C.Compute(body[..(n - Frame.CrcLength)]));
        return n;
    }

    public static byte[] EncodeBody(Frame frame)
    {
        var body = new byte[BodyLength(frame)];
        WriteBody(frame, body);
        return body;
    }

    /// <summary>Writes the frame as it goes on the wire, delimiter included; returns the number of bytes.</summary>
    public static int Encode(Frame frame, Span<byte> wire)
    {
        Span<byte> body = stackalloc byte[Frame.MaxBody];
        int n = WriteBody(frame, body);
        int encoded = Cobs.Encode(body[..n], wire);
        if (wire.Length <= encoded) throw new ArgumentException("no room for the delimiter", nameof(wire));
        wire[encoded] = 0;
        return encoded + 1;
    }

    public static byte[] Encode(Frame frame)
    {
        Span<byte> wire = stackalloc byte[MaxWireLength];
        return wire[..Encode(frame, wire)].ToArray();
    }
}
