using System.Globalization;

namespace HilBench.Memory.Geometry;

/// <summary>
/// The shape of a memory: blocks (banks, BRAMs, subarrays) of rows of bits, read in words. Cells are
/// numbered block after block, row after row, bit after bit; a row's bits share a wordline, the same bit
/// position of every row in a block shares a bitline.
/// </summary>
public sealed record MemoryGeometry
{
    public MemoryGeometry(int blocks, int rowsPerBlock, int bitsPerRow, int wordBits = 0)
    {
        if (blocks <= 0) throw new ArgumentOutOfRangeException(nameof(blocks), blocks, "a memory needs at least one block");
        if (rowsPerBlock <= 0) throw new ArgumentOutOfRangeException(nameof(rowsPerBlock), rowsPerBlock, "a block needs at least one row");
        if (bitsPerRow <= 0) throw new ArgumentOutOfRangeException(nameof(bitsPerRow), bitsPerRow, "a row needs at least one bit");
        if (wordBits == 0) wordBits = bitsPerRow;
        if (wordBits <= 0 || bitsPerRow % wordBits != 0)
            throw new ArgumentOutOfRangeException(nameof(wordBits), wordBits, $"the word width must divide the row width ({bitsPerRow} bits)");
        Blocks = blocks;
        RowsPerBlock = rowsPerBlock;
        BitsPerRow = bitsPerRow;
        WordBits = wordBits;
    }

    public int Blocks { get; }
    public int RowsPerBlock { get; }
    public int BitsPerRow { get; }
    public int WordBits { get; }

    public long BitsPerBlock => (long)RowsPerBlock * BitsPerRow;

    public long TotalBits => Blocks * BitsPerBlock;

    public long WordsPerBlock => BitsPerBlock / WordBits;

    public long Cell(int block, int row, int bit) => block * BitsPerBlock + (long)row * BitsPerRow + bit;

    public CellAddress Address(long cell)
    {
        long block = cell / BitsPerBlock, within = cell - block * BitsPerBlock;
        return new CellAddress((int)block, (int)(within / BitsPerRow), (int)(within % BitsPerRow));
    }

    /// <summary>
    /// "64x512x32": 64 blocks of 512 rows (words) of 32 bits; "16x1024x256/64" gives rows of 256 bits read
    /// in 64-bit words.
    /// </summary>
    public static MemoryGeometry Parse(string text)
    {
        var main = text.Split('/');
        var parts = main[0].Split('x', 'X');
        if (parts.Length != 3 || main.Length > 2 || !parts.All(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v > 0)
            || (main.Length == 2 && !int.TryParse(main[1], NumberStyles.None, CultureInfo.InvariantCulture, out _)))
            throw new FormatException($"geometry '{text}' is not BLOCKSxROWSxBITS, e.g. 64x512x32 (64 blocks of 512 words of 32 bits)");
        int[] v = parts.Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToArray();
        int word = main.Length == 2 ? int.Parse(main[1], CultureInfo.InvariantCulture) : v[2];
        if (word == 0) throw new FormatException($"geometry '{text}': the word width must divide the row width ({v[2]} bits); leave out '/0' for words as wide as a row");
        try
        {
            return new MemoryGeometry(v[0], v[1], v[2], word);
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new FormatException($"geometry '{text}': {e.Message.Split(" (Parameter")[0]}");
        }
    }

    public override string ToString() =>
        WordBits == BitsPerRow ? $"{Blocks}x{RowsPerBlock}x{BitsPerRow}" : $"{Blocks}x{RowsPerBlock}x{BitsPerRow}/{WordBits}";
}

/// <summary>One cell: its block, its row (wordline) in the block and its bit (bitline) in the row.</summary>
public readonly record struct CellAddress(int Block, int Row, int Bit);
