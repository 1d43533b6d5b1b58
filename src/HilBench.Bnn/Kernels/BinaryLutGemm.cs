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

    public static bool IsSupported => Avx512Vbmi.IsSupported;

    public BinaryLutGemm(BitMatrix weights)
    {
        _n = weights.Columns;
        _outs = weights.Rows;
        _words = weights.WordsPerRow;
        // Rounded up to whole chunks; the extra groups read zero bits on both sides and count nothing.
        _groups = ((_n + Group - 1) / Group + Chunk - 1) / Chunk * Chunk;
        _blocks = (_outs + Block - 1) / Block;
        _patterns = new byte[_blocks * _groups * Block];
        for (int o = 0; o < _outs; o++)
        {
            var row = weights.Row(o);
            for (int g = 0; g < _groups; g++)
                _patterns[((o / Block) * _groups + g) * Block + o % Block] = (byte)GroupBits(row, g);
        }
    }

    /// <summary>Bytes of scratch for one call: four rows of tables plus byte and 16-bit counters.</summary>
    public int ScratchBytes => Rows * _groups * 64 + Rows * _blocks * Block * (1 + sizeof(ushort));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int GroupBits(ReadOnlySpan<ulong> row, int g)
    {
        int bit = g * Group, w = bit >> 6, off = bit & 63;
        if (w >= row.Length) return 0;
        ulong v = row[w] >> off;
        if (off > 64 - Group && w + 1 < row.Length) v |= row[w + 1] << (64 - off);
        return (int)(v & 63);
    }

    public void Run(ReadOnlySpan<ulong> x, int rows, Span<int> a, int aStride, Span<byte> scratch)
    {
        if (x.Length < rows * _words) throw new ArgumentException("input rows are shorter than the weight rows");
        if (aStride < _outs || a.Length < (rows - 1) * aStride + _outs) throw new ArgumentException("output buffer too small");
        if (scratch.Length < ScratchBytes) throw new ArgumentException("scratch too small");
        var pc6 = Vector512.Create(Enumerable.Range(0, 64).Select(i => (byte)BitOperations.PopCount((uint)i)).ToArray());
        var iota = Vector512.Create(Enumerable.Range(0, 64).Select(i => (byte)i).ToArray());
        Span<int> counts = stackalloc int[Block];
        int tableBytes = _groups * 64;
        int counters = Rows * _blocks * Block;
        fixed (byte* tables = scratch, pat = _patterns)
        fixed (int* pcounts = counts)
        {
            byte* acc8 = tables + Rows * tableBytes;
            ushort* acc16 = (ushort*)(acc8 + counters);
            for (int r0 = 0; r0 < rows; r0 += Rows)
            {
                int nr = Math.Min(Rows, rows - r0);
                for (int r = 0; r < Rows; r++)
                {
                    byte* t = tables + r * tableBytes;
                    // Missing rows of the last quad get the tables of an all-zero row; their results are dropped.
                    var row = r < nr ? x.Slice((r0 + r) * _words, _words) : default;
                    for (int g = 0; g < _groups; g++)
                        Avx512Vbmi.PermuteVar64x8(pc6, iota ^ Vector512.Create((byte)(r < nr ? GroupBits(row, g) : 0))).Store(t + g * 64);
                }
                new Span<byte>(acc8, counters).Clear();
                new Span<ushort>(acc16, counters).Clear();
                for (int g0 = 0; g0 < _groups; g0 += Chunk)
                {
                    Chunk4x4(pat, tables, tableBytes, g0, acc8);
                    int done = g0 + Chunk;
                    if (done % FlushGroups == 0 || done == _groups) Flush(acc8, acc16, counters);
                }
                for (int r = 0; r < nr; r++)
                    for (int b = 0; b < _blocks; b++)
                        Emit(acc16 + (b * Rows + r) * Block, pcounts, a, r0 + r, aStride, b);
            }
        }
    }

    /// <summary>
    /// Groups g0..g0+3 of four rows against every 64-neuron block. The sixteen tables stay in registers
    /// while the weight patterns stream past, so a permute needs a quarter of a load; loads, not
    /// permutes, were the limit when each permute fetched its table from memory.
    /// </summary>
    private void Chunk4x4(byte* pat, byte* tables, int tableBytes, int g0, byte* acc8)
    {
        byte* t = tables + g0 * 64;
        var t00 = Vector512.Load(t); var t01 = Vector512.Load(t + 64); var t02 = Vector512.Load(t + 128); var t03 = Vector512.Load(t + 192);
        t += tableBytes;
        var t10 = Vector512.Load(t); var t11 = Vector512.Load(t + 64); var t12 = Vector512.Load(t + 128); var t13 = Vector512.Load(t + 192);
        t += tableBytes;
        var t20 = Vector512.Load(t); var t21 = Vector512.Load(t + 64); var t22 = Vector512.Load(t + 128); var t23 = Vector512.Load(t + 192);
        t += tableBytes;
        var t30 = Vector512.Load(t); var t31 = Vector512.Load(t + 64); var t32 = Vector512.Load(t + 128); var t33 = Vector512.Load(t + 192);
        for (int b = 0; b < _blocks; b++)
        {
            byte* p = pat + ((long)b * _groups + g0) * Block;
            byte* c = acc8 + b * Rows * Block;
            var i0 = Vector512.Load(p);
            var i1 = Vector512.Load(p + Block);
            var i2 = Vector512.Load(p + 2 * Block);
            var i3 = Vector512.Load(p + 3 * Block);
            (Vector512.Load(c) + Avx512Vbmi.PermuteVar64x8(t00, i0) + Avx512Vbmi.PermuteVar64x8(t01, i1)
                + Avx512Vbmi.PermuteVar64x8(t02, i2) + Avx512Vbmi.PermuteVar64x8(t03, i3)).Store(c);
            (Vector512.Load(c + Block) + Avx512Vbmi.PermuteVar64x8(t10, i0) + Avx512Vbmi.PermuteVar64x8(t11, i1)
                + Avx512Vbmi.PermuteVar64x8(t12, i2) + Avx512Vbmi.PermuteVar64x8(t13, i3)).Store(c + Block);
            (Vector512.Load(c + 2 * Block) + Avx512Vbmi.PermuteVar64x8(t20, i0) + Avx512Vbmi.PermuteVar64x8(t21, i1)
                + Avx512Vbmi.PermuteVar64x8(t22, i2) + Avx512Vbmi.PermuteVar64x8(t23, i3)).Store(c + 2 * Block);
            (Vector512.Load(c + 3 * Block) + Avx512Vbmi.PermuteVar64x8(t30, i0) + Avx512Vbmi.PermuteVar64x8(t31, i1)
                + Avx512Vbmi.PermuteVar64x8(t32, i2) + Avx512Vbmi.PermuteVar64x8(t33, i3)).Store(c + 3 * Block);
        }
    }

    /// <summary>Moves the byte counters into the 16-bit ones before they can overflow.</summary>
    private static void Flush(byte* acc8, ushort* acc16, int counters)
    {
        for (int i = 0; i < counters; i += 64)
        {
            var (l, h) = Vector512.Widen(Vector512.Load(acc8 + i));
            (Vector512.Load(acc16 + i) + l).Store(acc16 + i);
            (Vector512.Load(acc16 + i + 32) + h).Store(acc16 + i + 32);
            Vector512<byte>.Zero.Store(acc8 + i);
        }
    }

    /// <summary>Writes n - 2 * disagreements for the block's valid neurons of row r.</summary>
    private void Emit(ushort* acc, int* counts, Span<int> a, int r, int aStride, int b)
    {
        var n = Vector512.Create(_n);
        var (c0, c1) = Vector512.Widen(Vector512.Load(acc));
        var (c2, c3) = Vector512.Widen(Vector512.Load(acc + 32));
        (n - c0.AsInt32() * 2).Store(counts);
        (n - c1.AsInt32() * 2).Store(counts + 16);
        (n - c2.AsInt32() * 2).Store(counts + 32);
        (n - c3.AsInt32() * 2).Store(counts + 48);
        int valid = Math.Min(Block, _outs - b * Block);
        new ReadOnlySpan<int>(counts, valid).CopyTo(a.Slice(r * aStride + b * Block, valid));
    }
}
