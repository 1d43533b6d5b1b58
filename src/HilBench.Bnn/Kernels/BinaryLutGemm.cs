using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using HilBench.Bnn.Tensors;

namespace HilBench.Bnn.Kernels;

/// <summary>
/// Binarized matrix product by table lookup, for wide layers on AVX-512 VBMI.
/// <para>
/// The inputs are cut into groups of six bits. For each input row and group g with bits x_g, a 64-byte
/// table holds popcount(p XOR x_g) for every 6-bit weight pattern p. The weights are stored transposed:
/// for 64 neurons at a time, one byte per neuron holding its pattern for group g. One byte permute
/// (vpermb) then yields the disagreement counts of 64 neurons for six inputs, so a neuron-input pair
/// costs 1/384 of an instruction, about a third fewer permutes than XOR plus a lookup popcount.
/// </para>
/// </summary>
internal sealed unsafe class BinaryLutGemm
{
    private const int Group = 6;
    private const int Block = 64;
    private const int Rows = 4;

    /// <summary>Groups whose tables are held in registers at once.</summary>
    private const int Chunk = 4;

    /// <summary>Byte counters gain at most 6 per group: 40 groups (a whole number of chunks) stay below 256.</summary>
    private const int FlushGroups = 40;

    private readonly int _n;
    private readonly int _outs;
    private readonly int _groups;
    private readonly int _blocks;
    private readonly int _words;
    private readonly byte[] _patterns;

    /// <summary>Below this many outputs the 64-neuron blocks would mostly be padding.</summary>
    private const int MinOutputs = 32;

    /// <summary>Most inputs per neuron: the 16-bit counters hold up to this many disagreements.</summary>
    internal const int MaxInputs = ushort.MaxValue;

    public static bool IsSupported => Avx512Vbmi.IsSupported;

    /// <summary>
    /// Whether layers with these weights use this kernel on <paramref name="path"/>: the 512-bit path on a CPU with
    /// VBMI, at least <see cref="MinOutputs"/> outputs and at most <see cref="MaxInputs"/> inputs.
    /// </summary>
    public static bool Suits(BitMatrix weights, KernelPath path) =>
        path == KernelPath.Vector512 && IsSupported && weights.Rows >= MinOutputs && weights.Columns <= MaxInputs;

    public BinaryLutGemm(BitMatrix weights)
    {
        if (weights.Columns > MaxInputs)
            throw new ArgumentException($"the lookup kernel counts at most {MaxInputs} inputs per neuron, these weights have {weights.Columns}; use BinaryGemm for such a layer", nameof(weights));
        _n = weights.Columns;
        _outs = weights.Rows;
        _words = weights.WordsPerRow;
        // Rounded up to whole chunks; the extra groups read zero bits on both sides and count nothing.
        _groups = ((_n + Group - 1) / Group + Chunk - 1) / Chunk * Chunk;
        _blocks = (_outs + Block - 1) / Block;
        _patterns = new byte[_blocks * _groups * Block];
        Parallel.For(0, _outs, o =>
        {
            var row = weights.Row(o);
            for (int g = 0; g < _groups; g++)
                _patterns[PatternOffset(o / Block, g) + o % Block] = (byte)GroupBits(row, g);
        });
    }

    /// <summary>
    /// Patterns are laid out chunk by chunk, then block by block, so that the weights one chunk of
    /// groups needs for all blocks are one sequential stream.
    /// </summary>
    private int PatternOffset(int block, int group) => ((group / Chunk * _blocks + block) * Chunk + group % Chunk) * Block;

    /// <summary>Bits [6g, 6g + 6) of a row (zero past its end).</summary>
    internal static int GroupBits(ReadOnlySpan<ulong> row, int g)
    {
        int bit = g * Group, w = bit >> 6, off = bit & 63;
        if (w >= row.Length) return 0;
        ulong v = row[w] >> off;
        if (off > 64 - Group && w + 1 < row.Length) v |= row[w + 1] << (64 - off);
        return (int)(v & 63);
    }

    private int GroupChunks => (_groups + 63) / 64;

    private int StagingBytes => 48 * (GroupChunks - 1) + 64;

    private int ValueBytes => 64 * GroupChunks;

    /// <summary>Bytes of scratch for one call: a staging copy of a row, four rows of group values, byte and 16-bit counters.</summary>
    public int ScratchBytes => StagingBytes + Rows * ValueBytes + Rows * _blocks * Block * (1 + sizeof(ushort));

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Run(ReadOnlySpan<ulong> x, int rows, Span<int> a, int aStride, Span<byte> scratch)
    {
        if (x.Length < rows * _words) throw new ArgumentException("input rows are shorter than the weight rows");
        if (aStride < _outs || a.Length < (rows - 1) * aStride + _outs) throw new ArgumentException("output buffer too small");
        if (scratch.Length < ScratchBytes) throw new ArgumentException("scratch too small");
        Span<int> counts = stackalloc int[Block];
        int counters = Rows * _blocks * Block;
        fixed (byte* baseScratch = scratch, pat = _patterns)
        fixed (ulong* px = x)
        fixed (int* pcounts = counts, pa = a)
        {
            byte* staging = baseScratch;
            byte* values = staging + StagingBytes;
            byte* acc8 = values + Rows * ValueBytes;
            ushort* acc16 = (ushort*)(acc8 + counters);
            for (int r0 = 0; r0 < rows; r0 += Rows)
            {
                int nr = Math.Min(Rows, rows - r0);
                for (int r = 0; r < Rows; r++)
                {
                    // Missing rows of the last quad read as all-zero; their results are dropped.
                    if (r < nr) GroupValues(px + (long)(r0 + r) * _words, staging, values + r * ValueBytes);
                    else new Span<byte>(values + r * ValueBytes, ValueBytes).Clear();
                }
                for (int g0 = 0; g0 < _groups; g0 += Chunk)
                {
                    int done = g0 + Chunk;
                    bool resume = g0 % FlushGroups != 0;
                    bool flush = done % FlushGroups == 0 || done == _groups;
                    Chunk4x4(pat, values, g0, acc8, acc16, resume, flush, firstFlush: done <= FlushGroups);
                }
                for (int r = 0; r < nr; r++)
                    for (int b = 0; b < _blocks; b++)
                        Emit(acc16 + (b * Rows + r) * Block, pcounts, pa + (long)(r0 + r) * aStride, b);
            }
        }
    }

    /// <summary>Byte (8k + j) of the spread picks source byte 6k + j: qword k then starts at row bit 48k.</summary>
    private static readonly Vector512<byte> Spread = Vector512.Create(Enumerable.Range(0, 64).Select(i => (byte)(i / 8 * 6 + i % 8)).ToArray());

    /// <summary>Byte j of each qword takes the 8 bits from bit 6j (vpmultishiftqb): group 8k + j in its low six bits.</summary>
    private static readonly Vector512<byte> Shifts = Vector512.Create(Enumerable.Range(0, 64).Select(i => (byte)(i % 8 * 6)).ToArray());

    private static readonly Vector512<byte> SixBitCounts = Vector512.Create(Enumerable.Range(0, 64).Select(i => (byte)BitOperations.PopCount((uint)i)).ToArray());

    private static readonly Vector512<byte> Identity = Vector512.Create(Enumerable.Range(0, 64).Select(i => (byte)i).ToArray());

    /// <summary>Writes byte g = bits [6g, 6g + 6) of the row, 64 groups (48 bytes of the row) per step.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void GroupValues(ulong* row, byte* staging, byte* values)
    {
        int rowBytes = _words * 8;
        new ReadOnlySpan<byte>(row, rowBytes).CopyTo(new Span<byte>(staging, rowBytes));
        new Span<byte>(staging + rowBytes, Math.Max(0, StagingBytes - rowBytes)).Clear();
        var six = Vector512.Create((byte)63);
        for (int c = 0; c < GroupChunks; c++)
        {
            var qwords = Avx512Vbmi.PermuteVar64x8(Vector512.Load(staging + 48 * c), Spread).AsUInt64();
            (Avx512Vbmi.MultiShift(Shifts, qwords) & six).Store(values + 64 * c);
        }
    }

    /// <summary>popcount(p XOR v) for every 6-bit pattern p: the table of a group whose input bits are v.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<byte> Table(byte v) => Avx512Vbmi.PermuteVar64x8(SixBitCounts, Identity ^ Vector512.Create(v));

    /// <summary>
    /// Groups g0..g0+3 of four rows against every 64-neuron block. The sixteen tables are built in
    /// registers and stay there while the weight patterns stream past, so a permute needs a quarter of
    /// a load; loads, not permutes, were the limit when each permute fetched its table from memory.
    /// Byte counters continue from acc8 when <paramref name="resume"/>; on <paramref name="flush"/>
    /// they are widened into the 16-bit counters (stored over them on the first flush) instead of kept.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Chunk4x4(byte* pat, byte* values, int g0, byte* acc8, ushort* acc16, bool resume, bool flush, bool firstFlush)
    {
        byte* v = values + g0;
        var t00 = Table(v[0]); var t01 = Table(v[1]); var t02 = Table(v[2]); var t03 = Table(v[3]);
        v += ValueBytes;
        var t10 = Table(v[0]); var t11 = Table(v[1]); var t12 = Table(v[2]); var t13 = Table(v[3]);
        v += ValueBytes;
        var t20 = Table(v[0]); var t21 = Table(v[1]); var t22 = Table(v[2]); var t23 = Table(v[3]);
        v += ValueBytes;
        var t30 = Table(v[0]); var t31 = Table(v[1]); var t32 = Table(v[2]); var t33 = Table(v[3]);
        // Consecutive blocks' patterns for one chunk are adjacent (see PatternOffset): walk pointers, no index arithmetic.
        byte* p = pat + PatternOffset(0, g0) - Chunk * Block;
        byte* c = acc8 - Rows * Block;
        ushort* w = acc16 - Rows * Block;
        for (int b = 0; b < _blocks; b++)
        {
            p += Chunk * Block;
            c += Rows * Block;
            w += Rows * Block;
            var i0 = Vector512.Load(p);
            var i1 = Vector512.Load(p + Block);
            var i2 = Vector512.Load(p + 2 * Block);
            var i3 = Vector512.Load(p + 3 * Block);
            var s0 = Avx512Vbmi.PermuteVar64x8(t00, i0) + Avx512Vbmi.PermuteVar64x8(t01, i1) + Avx512Vbmi.PermuteVar64x8(t02, i2) + Avx512Vbmi.PermuteVar64x8(t03, i3);
            var s1 = Avx512Vbmi.PermuteVar64x8(t10, i0) + Avx512Vbmi.PermuteVar64x8(t11, i1) + Avx512Vbmi.PermuteVar64x8(t12, i2) + Avx512Vbmi.PermuteVar64x8(t13, i3);
            var s2 = Avx512Vbmi.PermuteVar64x8(t20, i0) + Avx512Vbmi.PermuteVar64x8(t21, i1) + Avx512Vbmi.PermuteVar64x8(t22, i2) + Avx512Vbmi.PermuteVar64x8(t23, i3);
            var s3 = Avx512Vbmi.PermuteVar64x8(t30, i0) + Avx512Vbmi.PermuteVar64x8(t31, i1) + Avx512Vbmi.PermuteVar64x8(t32, i2) + Avx512Vbmi.PermuteVar64x8(t33, i3);
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

    /// <summary>Adds (or, on the first flush, stores) 64 byte counters into 16-bit counters.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Widen(Vector512<byte> counts, ushort* w, bool first)
    {
        var (l, h) = Vector512.Widen(counts);
        if (!first)
        {
            l += Vector512.Load(w);
            h += Vector512.Load(w + 32);
        }
        l.Store(w);
        h.Store(w + 32);
    }

    /// <summary>Writes n - 2 * disagreements for the block's valid neurons of row r.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Emit(ushort* acc, int* staging, int* ar, int b)
    {
        var n = Vector512.Create(_n);
        var (c0, c1) = Vector512.Widen(Vector512.Load(acc));
        var (c2, c3) = Vector512.Widen(Vector512.Load(acc + 32));
        int valid = Math.Min(Block, _outs - b * Block);
        int* dst = valid == Block ? ar + b * Block : staging;
        (n - c0.AsInt32() * 2).Store(dst);
        (n - c1.AsInt32() * 2).Store(dst + 16);
        (n - c2.AsInt32() * 2).Store(dst + 32);
        (n - c3.AsInt32() * 2).Store(dst + 48);
        if (valid < Block) new ReadOnlySpan<int>(staging, valid).CopyTo(new Span<int>(ar + b * Block, valid));
    }
}
