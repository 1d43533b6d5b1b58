using System.Runtime.CompilerServices;
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
    private const int Rows = 4;

    /// <summary>Groups whose tables are held in registers at once (two registers per group and row).</summary>
    private const int Chunk = 2;

    /// <summary>Table sums reach 6*255 = 1530, so 16-bit lanes hold 42 groups; flush to 32 bits every 40.</summary>
    private const int FlushGroups = 40;

    private readonly KernelPath _path;
    private readonly BitMatrix _w;
    private readonly int _n;
    private readonly int _outs;

    // Vector512: per 32-neuron block and group, the 6-bit weight pattern of each neuron.
    private readonly ushort[]? _patterns;

    // Vector512 for small fan-ins (3x3 convolutions of few channels): per block and input, a lane mask of the +1 weights.
    private const int SmallFanIn = 32;
    private readonly ushort[]? _masks;
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
        // Rounded up to whole chunks; the extra groups have zero pixels and zero weight patterns.
        _groups = ((_n + Group - 1) / Group + Chunk - 1) / Chunk * Chunk;
        _blocks = (_outs + Block - 1) / Block;
        _paddedN = (_n + 31) & ~31;
        if (path == KernelPath.Vector512 && _n <= SmallFanIn)
        {
            // Tables would cost more to build per row than they save: add masked pixels directly.
            _masks = new ushort[_blocks * _n * Block];
            for (int o = 0; o < _outs; o++)
                for (int i = 0; i < _n; i++)
                    if (weights[o, i]) _masks[((o / Block) * _n + i) * Block + o % Block] = ushort.MaxValue;
        }
        else if (path == KernelPath.Vector512)
        {
            _patterns = new ushort[_blocks * _groups * Block];
            Parallel.For(0, _outs, o =>
            {
                var row = weights.Row(o);
                for (int g = 0; g < _groups; g++)
                    _patterns[PatternOffset(o / Block, g) + o % Block] = (ushort)BinaryLutGemm.GroupBits(row, g);
            });
        }
        else if (path == KernelPath.Vector256)
        {
            _signs = new sbyte[_outs * _paddedN];
            for (int o = 0; o < _outs; o++)
                for (int i = 0; i < _n; i++)
                    _signs[o * _paddedN + i] = weights[o, i] ? (sbyte)1 : (sbyte)-1;
        }
    }

    /// <summary>Patterns chunk by chunk, then block by block: one chunk's weights for all blocks are one sequential stream.</summary>
    private int PatternOffset(int block, int group) => ((group / Chunk * _blocks + block) * Chunk + group % Chunk) * Block;

    /// <summary>Bytes of scratch <see cref="Run"/> needs for <paramref name="rows"/> rows.</summary>
    public int ScratchUShorts(int rows) => _path switch
    {
        KernelPath.Vector512 when _masks is not null => 0,
        KernelPath.Vector512 => Rows * _groups * 64 + Rows * _blocks * Block * (1 + 2) + (_groups + StagingBytes + 1) / 2,
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
                case KernelPath.Vector512 when _masks is not null: Run512Small(px, rows, pa, aStride); break;
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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

    /// <summary>Small fan-in: P for 32 neurons = sum over inputs of (broadcast pixel AND the block's +1 mask); P stays below 32*255.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Run512Small(byte* x, int rows, int* a, int aStride)
    {
        Span<int> staging = stackalloc int[Block];
        fixed (ushort* pm = _masks)
        fixed (int* ps = staging)
        {
            for (int r = 0; r < rows; r++)
            {
                byte* xr = x + (long)r * _n;
                var sum = Vector512.Create(PixelSum(xr, _n));
                int* ar = a + (long)r * aStride;
                ushort* m = pm;
                for (int b = 0; b < _blocks; b++)
                {
                    var p = Vector512<ushort>.Zero;
                    for (int i = 0; i < _n; i++, m += Block) p += Vector512.Create((ushort)xr[i]) & Vector512.Load(m);
                    var (lo, hi) = Vector512.Widen(p);
                    int valid = Math.Min(Block, _outs - b * Block);
                    int* dst = valid == Block ? ar + b * Block : ps;
                    (lo.AsInt32() * 2 - sum).Store(dst);
                    (hi.AsInt32() * 2 - sum).Store(dst + 16);
                    if (valid < Block) staging[..valid].CopyTo(new Span<int>(ar + b * Block, valid));
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Run512(byte* x, int rows, int* a, int aStride, ushort* scratch)
    {
        int tableUShorts = _groups * 64;
        int counters = Rows * _blocks * Block;
        ushort* tables = scratch;
        ushort* acc16 = tables + Rows * tableUShorts;
        uint* acc32 = (uint*)(acc16 + counters);
        byte* nonzero = (byte*)(acc32 + counters);
        byte* staging = nonzero + _groups;
        Span<int> sums = stackalloc int[Rows];
        Span<int> chunks = stackalloc int[_groups / Chunk];
        fixed (ushort* pp = _patterns)
        {
            for (int r0 = 0; r0 < rows; r0 += Rows)
            {
                int nr = Math.Min(Rows, rows - r0);
                new Span<byte>(nonzero, _groups).Clear();
                for (int r = 0; r < Rows; r++)
                {
                    // Missing rows of the last quad get all-zero tables; their results are dropped.
                    if (r < nr) sums[r] = BuildTables(x + (long)(r0 + r) * _n, staging, tables + r * tableUShorts, nonzero);
                    else new Span<ushort>(tables + r * tableUShorts, tableUShorts).Clear();
                }
                // Background pixels are zero in many images: a chunk that is zero in all four rows adds nothing.
                int live = 0;
                for (int g0 = 0; g0 < _groups; g0 += Chunk)
                    if (nonzero[g0] != 0) chunks[live++] = g0;
                if (live == 0) new Span<uint>(acc32, counters).Clear();
                for (int k = 0; k < live; k++)
                {
                    const int chunksPerFlush = FlushGroups / Chunk;
                    Chunk4x2(pp, tables, tableUShorts, chunks[k], acc16, acc32,
                        resume: k % chunksPerFlush != 0, flush: (k + 1) % chunksPerFlush == 0 || k == live - 1, firstFlush: k < chunksPerFlush);
                }
                for (int r = 0; r < nr; r++)
                {
                    var sum = Vector512.Create(sums[r]);
                    int* ar = a + (long)(r0 + r) * aStride;
                    for (int b = 0; b < _blocks; b++)
                    {
                        uint* c = acc32 + (b * Rows + r) * Block;
                        var outLo = Vector512.Load(c).AsInt32() * 2 - sum;
                        var outHi = Vector512.Load(c + 16).AsInt32() * 2 - sum;
                        int valid = Math.Min(Block, _outs - b * Block);
                        if (valid == Block)
                        {
                            outLo.Store(ar + b * Block);
                            outHi.Store(ar + b * Block + 16);
                            continue;
                        }
                        // Last, partial block: stage in the (now final) counters, copy only the valid neurons.
                        outLo.Store((int*)c);
                        outHi.Store((int*)c + 16);
                        new ReadOnlySpan<int>(c, valid).CopyTo(new Span<int>(ar + b * Block, valid));
                    }
                }
            }
        }
    }

    /// <summary>
    /// Groups g0 and g0+1 of four rows against every 32-neuron block; the eight two-register tables stay
    /// in registers while the weight patterns stream past. The 16-bit sums continue from acc16 when
    /// <paramref name="resume"/>; on <paramref name="flush"/> they are widened into the 32-bit sums
    /// (stored over them on the first flush) instead of kept.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Chunk4x2(ushort* pat, ushort* tables, int tableUShorts, int g0, ushort* acc16, uint* acc32, bool resume, bool flush, bool firstFlush)
    {
        ushort* t = tables + g0 * 64;
        var l00 = Vector512.Load(t); var h00 = Vector512.Load(t + 32); var l01 = Vector512.Load(t + 64); var h01 = Vector512.Load(t + 96);
        t += tableUShorts;
        var l10 = Vector512.Load(t); var h10 = Vector512.Load(t + 32); var l11 = Vector512.Load(t + 64); var h11 = Vector512.Load(t + 96);
        t += tableUShorts;
        var l20 = Vector512.Load(t); var h20 = Vector512.Load(t + 32); var l21 = Vector512.Load(t + 64); var h21 = Vector512.Load(t + 96);
        t += tableUShorts;
        var l30 = Vector512.Load(t); var h30 = Vector512.Load(t + 32); var l31 = Vector512.Load(t + 64); var h31 = Vector512.Load(t + 96);
        // Consecutive blocks' patterns for one chunk are adjacent (see PatternOffset): walk pointers, no index arithmetic.
        ushort* p = pat + PatternOffset(0, g0) - Chunk * Block;
        ushort* c = acc16 - Rows * Block;
        uint* w = acc32 - Rows * Block;
        for (int b = 0; b < _blocks; b++)
        {
            p += Chunk * Block;
            c += Rows * Block;
            w += Rows * Block;
            var i0 = Vector512.Load(p);
            var i1 = Vector512.Load(p + Block);
            var s0 = Avx512BW.PermuteVar32x16x2(l00, i0, h00) + Avx512BW.PermuteVar32x16x2(l01, i1, h01);
            var s1 = Avx512BW.PermuteVar32x16x2(l10, i0, h10) + Avx512BW.PermuteVar32x16x2(l11, i1, h11);
            var s2 = Avx512BW.PermuteVar32x16x2(l20, i0, h20) + Avx512BW.PermuteVar32x16x2(l21, i1, h21);
            var s3 = Avx512BW.PermuteVar32x16x2(l30, i0, h30) + Avx512BW.PermuteVar32x16x2(l31, i1, h31);
            if (resume)
            {
                s0 += Vector512.Load(c);
                s1 += Vector512.Load(c + Block);
                s2 += Vector512.Load(c + 2 * Block);
                s3 += Vector512.Load(c + 3 * Block);
            }
            if (!flush)
            {
                s0.Store(c);
                s1.Store(c + Block);
                s2.Store(c + 2 * Block);
                s3.Store(c + 3 * Block);
                continue;
            }
            Widen(s0, w, firstFlush);
            Widen(s1, w + Block, firstFlush);
            Widen(s2, w + 2 * Block, firstFlush);
            Widen(s3, w + 3 * Block, firstFlush);
        }
    }

    /// <summary>Adds (or, on the first flush, stores) 32 16-bit sums into 32-bit sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Widen(Vector512<ushort> sums, uint* w, bool first)
    {
        var (l, h) = Vector512.Widen(sums);
        if (!first)
        {
            l += Vector512.Load(w);
            h += Vector512.Load(w + 16);
        }
        l.Store(w);
        h.Store(w + 16);
    }

    /// <summary>A row's pixels, zero padded to whole groups plus room for the widest read.</summary>
    private int StagingBytes => _groups * Group + 64;

    /// <summary>
    /// Bytes [bit 2j of p, bit 2j+1 of p] for p = 0..31 (low table half) and 32..63 (high half): multiplied
    /// with a broadcast pixel pair by vpmaddubsw they give that pair's share of every subset sum.
    /// </summary>
    private static readonly Vector512<sbyte>[] PairBits = Enumerable.Range(0, 6).Select(i =>
    {
        int pair = i % 3, half = i / 3;
        return Vector512.Create(Enumerable.Range(0, 64).Select(k =>
        {
            int p = k / 2 + 32 * half, bit = 2 * pair + k % 2;
            return (sbyte)(p >> bit & 1);
        }).ToArray());
    }).ToArray();

    /// <summary>Builds one row's tables, marks chunks with any non-zero pixel, returns the row's pixel sum.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int BuildTables(byte* xr, byte* staging, ushort* tables, byte* nonzero)
    {
        new ReadOnlySpan<byte>(xr, _n).CopyTo(new Span<byte>(staging, _n));
        new Span<byte>(staging + _n, StagingBytes - _n).Clear();
        Vector512<byte> b01lo = PairBits[0].AsByte(), b23lo = PairBits[1].AsByte(), b45lo = PairBits[2].AsByte();
        Vector512<byte> b01hi = PairBits[3].AsByte(), b23hi = PairBits[4].AsByte(), b45hi = PairBits[5].AsByte();
        for (int g = 0; g < _groups; g++)
        {
            byte* q = staging + g * Group;
            var x01 = Vector512.Create(*(ushort*)q).AsByte();
            var x23 = Vector512.Create(*(ushort*)(q + 2)).AsByte();
            var x45 = Vector512.Create(*(ushort*)(q + 4)).AsByte();
            var low = Avx512BW.MultiplyAddAdjacent(x01, b01lo.AsSByte()) + Avx512BW.MultiplyAddAdjacent(x23, b23lo.AsSByte()) + Avx512BW.MultiplyAddAdjacent(x45, b45lo.AsSByte());
            var high = Avx512BW.MultiplyAddAdjacent(x01, b01hi.AsSByte()) + Avx512BW.MultiplyAddAdjacent(x23, b23hi.AsSByte()) + Avx512BW.MultiplyAddAdjacent(x45, b45hi.AsSByte());
            low.AsUInt16().Store(tables + g * 64);
            high.AsUInt16().Store(tables + g * 64 + 32);
        }
        for (int g0 = 0; g0 < _groups; g0 += Chunk)
        {
            byte* q = staging + g0 * Group;
            if ((*(ulong*)q | *(uint*)(q + 8)) != 0) nonzero[g0] = 1;
        }
        var total = Vector512<ulong>.Zero;
        for (int i = 0; i < _n; i += 64)
            total += Avx512BW.SumAbsoluteDifferences(Vector512.Load(staging + i), Vector512<byte>.Zero).AsUInt64();
        return (int)Vector512.Sum(total);
    }
}
