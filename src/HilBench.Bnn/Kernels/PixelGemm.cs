using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using HilBench.Bnn.Tensors;

namespace HilBench.Bnn.Kernels;

/// <summary>
/// First-layer product of 8-bit pixels with +-1 weights: a[r, o] = sum_i w_oi * x_ri = 2P - S, where
/// P is the sum of the pixels whose weight is +1 and S the sum of all pixels of the row.
/// <para>
/// The 512-bit path computes P by table lookup: the inputs are split into groups of six; for each row
/// a 64-entry table holds the pixel sum of every subset of its group, and one two-register 16-bit
/// permute (vpermi2w) looks up the sums of 32 neurons at once, indexed by their six weight bits.
/// That is one instruction per 192 multiply-adds, against one per 32 for widening byte products.
/// </para>
/// </summary>
internal sealed unsafe class PixelGemm
{
    private const int Group = 6;
    private const int Block = 32;

    /// <summary>Table sums reach 6*255 = 1530, so 16-bit lanes hold 42 groups; flush to 32 bits every 32.</summary>
    private const int FlushGroups = 32;

    private readonly KernelPath _path;
    private readonly BitMatrix _w;
    private readonly int _n;
    private readonly int _outs;

    // Vector512: per 32-neuron block and group, the 6-bit weight pattern of each neuron.
    private readonly ushort[]? _patterns;
    private readonly int _groups;
    private readonly int _blocks;

    // Vector256: weights widened to +-1 bytes, rows padded to 32 bytes.
    private readonly sbyte[]? _signs;
    private readonly int _paddedN;

    public PixelGemm(KernelPath path, BitMatrix weights)
    {
        _path = path;
        _w = weights;
        _n = weights.Columns;
        _outs = weights.Rows;
        _groups = (_n + Group - 1) / Group;
        _blocks = (_outs + Block - 1) / Block;
        _paddedN = (_n + 31) & ~31;
        if (path == KernelPath.Vector512)
        {
            _patterns = new ushort[_blocks * _groups * Block];
            for (int o = 0; o < _outs; o++)
                for (int i = 0; i < _n; i++)
                    if (weights[o, i])
                        _patterns[((o / Block) * _groups + i / Group) * Block + o % Block] |= (ushort)(1 << (i % Group));
        }
        else if (path == KernelPath.Vector256)
        {
            _signs = new sbyte[_outs * _paddedN];
            for (int o = 0; o < _outs; o++)
                for (int i = 0; i < _n; i++)
                    _signs[o * _paddedN + i] = weights[o, i] ? (sbyte)1 : (sbyte)-1;
        }
    }

    /// <summary>Bytes of scratch <see cref="Run"/> needs for <paramref name="rows"/> rows.</summary>
    public int ScratchUShorts(int rows) => _path switch
    {
        KernelPath.Vector512 => 2 * _groups * 64,
        KernelPath.Vector256 => (_paddedN + 1) / 2,
        _ => 0,
    };

    /// <summary>x holds rows of n pixels; writes a[r * aStride + o].</summary>
    public void Run(ReadOnlySpan<byte> x, int rows, Span<int> a, int aStride, Span<ushort> scratch)
    {
        if (x.Length < rows * _n) throw new ArgumentException("input rows are shorter than the fan-in");
        if (aStride < _outs || a.Length < (rows - 1) * aStride + _outs) throw new ArgumentException("output buffer too small");
        if (scratch.Length < ScratchUShorts(rows)) throw new ArgumentException("scratch too small");
        fixed (byte* px = x)
        fixed (int* pa = a)
        fixed (ushort* ps = scratch)
        {
            switch (_path)
            {
                case KernelPath.Vector512: Run512(px, rows, pa, aStride, ps); break;
                case KernelPath.Vector256: Run256(px, rows, pa, aStride, (byte*)ps); break;
                default: RunScalar(px, rows, pa, aStride); break;
            }
        }
    }

    private static int PixelSum(byte* x, int n)
    {
        int s = 0;
        for (int i = 0; i < n; i++) s += x[i];
        return s;
    }

    private void RunScalar(byte* x, int rows, int* a, int aStride)
    {
        int words = _w.WordsPerRow;
        fixed (ulong* pw = _w.Words)
        {
            for (int r = 0; r < rows; r++)
            {
                byte* xr = x + (long)r * _n;
                int s = PixelSum(xr, _n);
                for (int o = 0; o < _outs; o++)
                {
                    ulong* wo = pw + (long)o * words;
                    int p = 0;
                    for (int k = 0; k < words; k++)
                    {
                        ulong bits = wo[k];
                        byte* xk = xr + k * 64;
                        while (bits != 0)
                        {
                            p += xk[BitOperations.TrailingZeroCount(bits)];
                            bits &= bits - 1;
                        }
                    }
                    a[(long)r * aStride + o] = 2 * p - s;
                }
            }
        }
    }

    private void Run256(byte* x, int rows, int* a, int aStride, byte* padded)
    {
        var ones = Vector256.Create((short)1);
        fixed (sbyte* pw = _signs)
        {
            for (int r = 0; r < rows; r++)
            {
                byte* xr = x + (long)r * _n;
                new ReadOnlySpan<byte>(xr, _n).CopyTo(new Span<byte>(padded, _n));
                new Span<byte>(padded + _n, _paddedN - _n).Clear();
                for (int o = 0; o < _outs; o++)
                {
                    sbyte* wo = pw + (long)o * _paddedN;
                    var acc = Vector256<int>.Zero;
                    for (int i = 0; i < _paddedN; i += 32)
                    {
                        // u8 * s8 pairs summed to int16 (at most 510, no saturation), then pairs to int32.
                        var pairs = Avx2.MultiplyAddAdjacent(Vector256.Load(padded + i), Vector256.Load(wo + i));
                        acc += Avx2.MultiplyAddAdjacent(pairs, ones);
                    }
                    a[(long)r * aStride + o] = Vector256.Sum(acc);
                }
            }
        }
    }

    private void Run512(byte* x, int rows, int* a, int aStride, ushort* tables)
    {
        // Lane p of mask k is all ones when bit k of p is set: table entry p = sum of the pixels selected by p.
        Span<Vector512<ushort>> bitMask = stackalloc Vector512<ushort>[Group - 1];
        for (int k = 0; k < Group - 1; k++)
        {
            var lanes = new ushort[32];
            for (int p = 0; p < 32; p++) lanes[p] = (p >> k & 1) != 0 ? ushort.MaxValue : (ushort)0;
            bitMask[k] = Vector512.Create(lanes);
        }
        Span<int> partial = stackalloc int[Block];
        fixed (ushort* pp = _patterns)
        {
            for (int r = 0; r < rows; r++)
            {
                byte* xr = x + (long)r * _n;
                BuildTables(xr, tables, bitMask);
                var sum = Vector512.Create(PixelSum(xr, _n));
                for (int b = 0; b < _blocks; b++)
                {
                    ushort* pat = pp + (long)b * _groups * Block;
                    Vector512<uint> lo = default, hi = default;
                    for (int g = 0; g < _groups;)
                    {
                        int end = Math.Min(_groups, g + FlushGroups);
                        Vector512<ushort> acc = default;
                        for (; g < end; g++)
                            acc += Avx512BW.PermuteVar32x16x2(Vector512.Load(tables + g * 64), Vector512.Load(pat + g * Block), Vector512.Load(tables + g * 64 + 32));
                        var (l, h) = Vector512.Widen(acc);
                        lo += l;
                        hi += h;
                    }
                    var outLo = lo.AsInt32() * 2 - sum;
                    var outHi = hi.AsInt32() * 2 - sum;
                    int* ar = a + (long)r * aStride + b * Block;
                    int valid = Math.Min(Block, _outs - b * Block);
                    if (valid == Block)
                    {
                        outLo.Store(ar);
                        outHi.Store(ar + 16);
                    }
                    else
                    {
                        fixed (int* pt = partial)
                        {
                            outLo.Store(pt);
                            outHi.Store(pt + 16);
                        }
                        partial[..valid].CopyTo(new Span<int>(ar, valid));
                    }
                }
            }
        }
    }

    private void BuildTables(byte* xr, ushort* tables, ReadOnlySpan<Vector512<ushort>> bitMask)
    {
        for (int g = 0; g < _groups; g++)
        {
            int i0 = g * Group;
            var low = Vector512<ushort>.Zero;
            for (int k = 0; k < Group - 1; k++)
                if (i0 + k < _n) low += Vector512.Create((ushort)xr[i0 + k]) & bitMask[k];
            ushort top = i0 + Group - 1 < _n ? xr[i0 + Group - 1] : (ushort)0;
            low.Store(tables + g * 64);
            (low + Vector512.Create(top)).Store(tables + g * 64 + 32);
        }
    }
}
