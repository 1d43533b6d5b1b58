using System.Diagnostics.CodeAnalysis;

namespace HilBench.Bnn.Tensors;

/// <summary>
/// A row-major matrix of +-1 values packed one bit each (bit 1 = +1, bit 0 = -1).
/// Every row starts on a 64-bit word boundary; the padding bits after the last column
/// are always zero, so kernels may XOR and popcount whole words.
/// </summary>
public sealed class BitMatrix : IEquatable<BitMatrix>
{
    public BitMatrix(int rows, int columns)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(columns);
        Rows = rows;
        Columns = columns;
        WordsPerRow = WordsFor(columns);
        Words = new ulong[(long)rows * WordsPerRow];
    }

    /// <summary>Wraps existing words; the padding bits must be zero.</summary>
    public BitMatrix(int rows, int columns, ulong[] words) : this(rows, columns, words, validate: true) { }

    private BitMatrix(int rows, int columns, ulong[] words, bool validate)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(columns);
        Rows = rows;
        Columns = columns;
        WordsPerRow = WordsFor(columns);
        if (words.LongLength != (long)rows * WordsPerRow)
            throw new ArgumentException($"expected {(long)rows * WordsPerRow} words for {rows}x{columns} bits, got {words.LongLength}", nameof(words));
        Words = words;
        if (validate && !PaddingIsZero())
            throw new ArgumentException("padding bits after the last column must be zero", nameof(words));
    }

    public int Rows { get; }
    public int Columns { get; }
    public int WordsPerRow { get; }

    /// <summary>The packed bits, row after row, <see cref="WordsPerRow"/> words each.</summary>
    public ulong[] Words { get; }

    public long BitCount => (long)Rows * Columns;

    public static int WordsFor(int bits) => (bits + 63) >> 6;

    public Span<ulong> Row(int row) => Words.AsSpan(row * WordsPerRow, WordsPerRow);

    /// <summary>The bit at (row, column); outside the matrix (the padding included) it throws.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The row or column is outside the matrix.</exception>
    public bool this[int row, int column]
    {
        get => (Words[WordIndex(row, column)] >> (column & 63) & 1UL) != 0;
        set
        {
            ref ulong w = ref Words[WordIndex(row, column)];
            ulong mask = 1UL << (column & 63);
            w = value ? w | mask : w & ~mask;
        }
    }

    private int WordIndex(int row, int column)
    {
        if ((uint)row >= (uint)Rows || (uint)column >= (uint)Columns) ThrowOutside(row, column);
        return row * WordsPerRow + (column >> 6);
    }

    // Kept out of WordIndex so that the check inlines into the indexer.
    [DoesNotReturn]
    private void ThrowOutside(int row, int column) =>
        throw new ArgumentOutOfRangeException((uint)row >= (uint)Rows ? nameof(row) : nameof(column),
            $"bit ({row}, {column}) is outside the {Rows}x{Columns} matrix; rows are 0..{Rows - 1}, columns 0..{Columns - 1}");

    /// <summary>The weight as +1 or -1.</summary>
    public int Sign(int row, int column) => this[row, column] ? 1 : -1;

    public BitMatrix Clone() => new(Rows, Columns, (ulong[])Words.Clone(), validate: false);

    /// <summary>Fills with uniformly random bits from a seeded generator.</summary>
    public static BitMatrix Random(int rows, int columns, Random random)
    {
        var m = new BitMatrix(rows, columns);
        for (int r = 0; r < rows; r++)
        {
            var row = m.Row(r);
            for (int w = 0; w < row.Length; w++) row[w] = (ulong)random.NextInt64() ^ ((ulong)random.Next() << 63);
            if ((columns & 63) != 0) row[^1] &= (1UL << (columns & 63)) - 1;
        }
        return m;
    }

    public bool PaddingIsZero()
    {
        if ((Columns & 63) == 0) return true;
        ulong pad = ~((1UL << (Columns & 63)) - 1);
        for (int r = 0; r < Rows; r++)
            if ((Words[r * WordsPerRow + WordsPerRow - 1] & pad) != 0) return false;
        return true;
    }

    public bool Equals(BitMatrix? other) =>
        other is not null && other.Rows == Rows && other.Columns == Columns && other.Words.AsSpan().SequenceEqual(Words);

    public override bool Equals(object? obj) => Equals(obj as BitMatrix);

    public override int GetHashCode() => HashCode.Combine(Rows, Columns, Words.Length);
}
