using System.Globalization;
using System.Security.Cryptography;
using HilBench.Memory.Geometry;

namespace HilBench.Calibration.Import;

/// <summary>
/// The data written to the memory before it was read back, as a stored bit per cell. Cells are numbered as in
/// <see cref="MemoryGeometry"/> (block after block, row after row, bit after bit) and a memory image holds them
/// LSB first: byte a holds cells 8a..8a+7, cell 8a+k in bit k (so words are little-endian), as the board protocol does.
/// </summary>
public abstract class WrittenPattern
{
    /// <summary>The name reads are grouped by, e.g. "0xFFFF", "checkerboard", "file:pattern.bin".</summary>
    public abstract string Name { get; }

    public abstract bool StoredAt(MemoryGeometry geometry, long cell);

    /// <summary>The written image, <see cref="ImageBytes"/> long; padding bits past the last cell are 0.</summary>
    public virtual byte[] Image(MemoryGeometry geometry)
    {
        var image = new byte[ImageBytes(geometry)];
        for (long c = 0; c < geometry.TotalBits; c++)
            if (StoredAt(geometry, c)) image[c >> 3] |= (byte)(1 << (int)(c & 7));
        return image;
    }

    /// <summary>Bytes of an image (and of a binary dump) of the geometry: every cell, LSB first, the last byte padded.</summary>
    public static long ImageBytes(MemoryGeometry geometry) => (geometry.TotalBits + 7) / 8;

    public override string ToString() => Name;

    /// <summary>
    /// "0xFFFF" (a constant word, its width 4 bits per hex digit, repeated along the cells), "checkerboard",
    /// "checkerboard-inverse", or the path of a pattern file ("file:" prefix optional; relative to
    /// <paramref name="baseDirectory"/>). <paramref name="origin"/> names where the text came from in messages.
    /// </summary>
    public static WrittenPattern Parse(string text, string? baseDirectory = null, string origin = "--pattern")
    {
        string t = text.Trim();
        if (t.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            string digits = t[2..];
            if (digits.Length is 0 or > 16 || !ulong.TryParse(digits, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong value))
                throw new CalibrationInputException($"{origin}: unknown pattern '{text}': a constant word is 0x followed by 1 to 16 hex digits, e.g. 0xFFFF");
            return new ConstantWord(value, digits.Length * 4, "0x" + digits.ToUpperInvariant());
        }
        switch (t.ToLowerInvariant())
        {
            case "checkerboard":
                return new Checkerboard(inverse: false);
            case "checkerboard-inverse":
                return new Checkerboard(inverse: true);
        }
        string path = t.StartsWith("file:", StringComparison.OrdinalIgnoreCase) ? t[5..] : t;
        if (baseDirectory is not null && !Path.IsPathRooted(path)) path = Path.Combine(baseDirectory, path);
        if (path != "" && File.Exists(path)) return PatternFile.Load(path);
        throw new CalibrationInputException(
            $"{origin}: unknown pattern '{text}': expected a constant word such as 0xFFFF or 0x0000, checkerboard, checkerboard-inverse, or the path of an existing pattern file");
    }
}

/// <summary>
/// A constant word repeated along the cell stream: cell c stores bit (c mod width) of the value. With a width that
/// divides the row (0xFFFF, 0x00000000, 0x55) this is the same word in every row.
/// </summary>
public sealed class ConstantWord(ulong value, int width, string name) : WrittenPattern
{
    public ulong Value { get; } = value;

    public int Width { get; } = width;

    public override string Name { get; } = name;

    public override bool StoredAt(MemoryGeometry geometry, long cell) => (Value >> (int)(cell % Width) & 1) != 0;

    public override byte[] Image(MemoryGeometry geometry)
    {
        // The image repeats every lcm(width, 8) bits: build that many bytes once and tile them.
        int periodBits = Width * 8 / (int)System.Numerics.BigInteger.GreatestCommonDivisor(Width, 8);
        var period = new byte[periodBits / 8];
        for (int c = 0; c < periodBits; c++)
            if (StoredAt(geometry, c)) period[c >> 3] |= (byte)(1 << (c & 7));
        var image = new byte[ImageBytes(geometry)];
        for (long i = 0; i < image.LongLength; i += period.Length)
            period.AsSpan(0, (int)Math.Min(period.Length, image.LongLength - i)).CopyTo(image.AsSpan((int)i));
        ClearPadding(geometry, image);
        return image;
    }

    internal static void ClearPadding(MemoryGeometry geometry, byte[] image)
    {
        int used = (int)(geometry.TotalBits & 7);
        if (used != 0) image[^1] &= (byte)((1 << used) - 1);
    }
}

/// <summary>
/// Bits alternate along every row and the phase flips from row to row: cell (block, row, bit) stores 1 when
/// row + bit is even, so row 0 of each block reads 0x55... and row 1 0xAA... as LSB-first bytes. The inverse
/// pattern stores the complement. Either holds as many ones as zeros, so both failure polarities show.
/// </summary>
public sealed class Checkerboard(bool inverse) : WrittenPattern
{
    public bool Inverse { get; } = inverse;

    public override string Name => Inverse ? "checkerboard-inverse" : "checkerboard";

    public override bool StoredAt(MemoryGeometry geometry, long cell)
    {
        var a = geometry.Address(cell);
        return ((a.Row + a.Bit) % 2 == 0) != Inverse;
    }

    public override byte[] Image(MemoryGeometry geometry)
    {
        if (geometry.BitsPerRow % 8 != 0) return base.Image(geometry);
        var image = new byte[ImageBytes(geometry)];
        int rowBytes = geometry.BitsPerRow / 8;
        byte even = Inverse ? (byte)0xAA : (byte)0x55, odd = (byte)~even;
        long rows = (long)geometry.Blocks * geometry.RowsPerBlock;
        for (long r = 0; r < rows; r++)
            image.AsSpan((int)(r * rowBytes), rowBytes).Fill(r % geometry.RowsPerBlock % 2 == 0 ? even : odd);
        return image;
    }
}

/// <summary>An arbitrary written image from a file: the same layout and length as a binary dump of the geometry.</summary>
public sealed class PatternFile : WrittenPattern
{
    private PatternFile(string path, byte[] bytes, string sha256)
    {
        Path = path;
        Bytes = bytes;
        Sha256 = sha256;
    }

    public string Path { get; }

    public byte[] Bytes { get; }

    public string Sha256 { get; }

    // The hash keeps two different files with the same name apart.
    public override string Name => $"file:{System.IO.Path.GetFileName(Path)}#{Sha256[..12]}";

    public static PatternFile Load(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length == 0) throw new CalibrationInputException($"{path}: the pattern file is empty");
        return new PatternFile(path, bytes, Convert.ToHexStringLower(SHA256.HashData(bytes)));
    }

    public override bool StoredAt(MemoryGeometry geometry, long cell)
    {
        Check(geometry);
        return (Bytes[cell >> 3] >> (int)(cell & 7) & 1) != 0;
    }

    public override byte[] Image(MemoryGeometry geometry)
    {
        Check(geometry);
        var copy = (byte[])Bytes.Clone();
        ConstantWord.ClearPadding(geometry, copy);
        return copy;
    }

    private void Check(MemoryGeometry geometry)
    {
        long need = ImageBytes(geometry);
        if (Bytes.LongLength != need)
            throw new CalibrationInputException($"{Path}: the pattern file holds {Bytes.LongLength} bytes, but geometry {geometry} needs {need} (one bit per cell, LSB first)");
    }
}
