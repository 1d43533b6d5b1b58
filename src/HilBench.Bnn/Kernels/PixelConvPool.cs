using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using HilBench.Bnn.Layers;
using HilBench.Bnn.Model;

namespace HilBench.Bnn.Kernels;

/// <summary>
/// The first block of a conv net in one pass: 3x3 "same" convolution of 8-bit pixels with +-1 weights, 2x2 max pool and
/// threshold, straight to packed bits. Nothing wider than a register is written between the three steps, where the
/// unfused path writes and re-reads a 32-bit pre-activation per neuron and position.
/// <para>
/// Each kernel row of the zero-padded image is 3*C consecutive bytes; they are taken two at a time, broadcast to all lanes,
/// and one vpmaddubsw multiplies the pair by the +-1 weights of 32 output channels and adds the two products into 16-bit
/// lanes (a byte past the row gets weight 0). Sums stay below 9*C*255, so 16 bits hold them up to 14 input channels, and
/// thresholds outside the 16-bit range clamp without changing any comparison.
/// </para>
/// </summary>
internal sealed unsafe class PixelConvPool
{
    private const int Lanes = 32;

    private readonly int _height, _width, _channels, _outs, _pairs;
    private readonly sbyte[] _weights; // [32-channel block][kh][pair][lane][2 bytes]
    private readonly short[] _thresholds;
    private readonly short[] _ascending; // -1 (all bits) where o = +1 iff a >= T, 0 where o = +1 iff a <= T

    /// <summary>True when <paramref name="block"/> is a pixel conv with pool and threshold that this kernel computes exactly on this path.</summary>
    public static bool Supports(BnnBlock block, KernelPath path) =>
        path == KernelPath.Vector512 && Avx512BW.IsSupported && block is { ReadsPixels: true, Linear: BinaryConv2d, Pool: not null, Threshold: not null }
        && block.Linear.Outputs % Lanes == 0 && 9 * block.Linear.InputShape.Channels * byte.MaxValue <= short.MaxValue;

    public PixelConvPool(BnnBlock block)
    {
        if (!Supports(block, KernelPath.Vector512)) throw new ArgumentException($"block {block.Index} is not a fusable pixel conv with pool and threshold");
        var input = block.Linear.InputShape;
        (_height, _width, _channels, _outs) = (input.Height, input.Width, input.Channels, block.Linear.Outputs);
        _pairs = (3 * _channels + 1) / 2;
        var w = block.Linear.Weights;
        _weights = new sbyte[_outs / Lanes * 3 * _pairs * 2 * Lanes];
        for (int o = 0; o < _outs; o++)
            for (int kh = 0; kh < 3; kh++)
                for (int j = 0; j < 3 * _channels; j++) // j runs over (kw, c) within the kernel row, like the padded image row
                {
                    int at = (((o / Lanes * 3 + kh) * _pairs + j / 2) * Lanes + o % Lanes) * 2 + j % 2;
                    _weights[at] = w[o, kh * 3 * _channels + j] ? (sbyte)1 : (sbyte)-1;
                }
        var t = block.Threshold!;
        _thresholds = new short[_outs];
        _ascending = new short[_outs];
        for (int o = 0; o < _outs; o++)
        {
            _thresholds[o] = (short)Math.Clamp(t.Thresholds[o], short.MinValue, short.MaxValue);
            _ascending[o] = t.Ascending[o] ? (short)-1 : (short)0;
        }
    }

    /// <summary>Bytes of the per-thread buffer that holds one zero-padded image (and one spare byte for the last pair).</summary>
    public int PaddedBytes => (_height + 2) * (_width + 2) * _channels + 1;

    /// <summary>One image (HWC bytes) to its pooled, thresholded outputs, written as bits into a zeroed row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Run(ReadOnlySpan<byte> image, Span<byte> padded, Span<ulong> bits)
    {
        int rowBytes = (_width + 2) * _channels;
        if (image.Length < _height * _width * _channels || padded.Length < PaddedBytes) throw new ArgumentException("image or padding buffer too short");
        int ph = _height / 2, pw = _width / 2;
        if (bits.Length * 2 < ph * pw * _outs / Lanes) throw new ArgumentException("output row too short");
        padded[..PaddedBytes].Clear();
        for (int y = 0; y < _height; y++)
            image.Slice(y * _width * _channels, _width * _channels).CopyTo(padded.Slice((y + 1) * rowBytes + _channels));

        int blocks = _outs / Lanes;
        fixed (byte* src = padded)
        fixed (sbyte* weights = _weights)
        fixed (short* thresholds = _thresholds, ascending = _ascending)
        fixed (ulong* words = bits)
        {
            uint* halves = (uint*)words;
            for (int b = 0; b < blocks; b++)
            {
                sbyte* wb = weights + b * 3 * _pairs * 2 * Lanes;
                var threshold = Vector512.Load(thresholds + b * Lanes);
                var asc = Vector512.Load(ascending + b * Lanes);
                for (int py = 0; py < ph; py++)
                    for (int px = 0; px < pw; px++)
                    {
                        // Padded row r holds image row r - 1, so the window of output (y, x) starts at padded (y, x).
                        byte* corner = src + (2 * py * rowBytes + 2 * px * _channels);
                        var best = Window(corner, wb, rowBytes);
                        best = Vector512.Max(best, Window(corner + _channels, wb, rowBytes));
                        best = Vector512.Max(best, Window(corner + rowBytes, wb, rowBytes));
                        best = Vector512.Max(best, Window(corner + rowBytes + _channels, wb, rowBytes));
                        var on = Vector512.ConditionalSelect(asc, Vector512.GreaterThanOrEqual(best, threshold), Vector512.LessThanOrEqual(best, threshold));
                        halves[(py * pw + px) * blocks + b] = (uint)on.ExtractMostSignificantBits();
                    }
            }
        }
    }

    /// <summary>Pre-activations of 32 output channels at the window whose top-left padded byte is <paramref name="at"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Vector512<short> Window(byte* at, sbyte* w, int rowBytes)
    {
        var sum = Vector512<short>.Zero;
        for (int kh = 0; kh < 3; kh++, at += rowBytes)
            for (int p = 0; p < _pairs; p++, w += 2 * Lanes)
                sum += Avx512BW.MultiplyAddAdjacent(Vector512.Create(*(ushort*)(at + 2 * p)).AsByte(), Vector512.Load(w));
        return sum;
    }
}
