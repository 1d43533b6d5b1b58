using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using HilBench.Calibration.Measured;
using HilBench.Memory;
using HilBench.Memory.Geometry;

namespace HilBench.Calibration.Import;

/// <summary>
/// Readback dumps (binary, hex bytes, hex words) compared with the written pattern: every bit that differs is a
/// fault whose read and stored values are both known.
/// </summary>
public static class DumpImporter
{
    public static MeasuredRead Read(string path, DumpFormat format, MemoryGeometry geometry, WrittenPattern pattern, OperatingPoint point, int repeat = 0)
    {
        var readback = ReadImage(path, format, geometry);
        return Compare(readback, pattern.Image(geometry), geometry, pattern, point, repeat, path);
    }

    /// <summary>The dump as an image of the geometry (LSB-first bytes), refused unless its length matches the geometry.</summary>
    public static byte[] ReadImage(string path, DumpFormat format, MemoryGeometry geometry)
    {
        if (!File.Exists(path)) throw new CalibrationInputException($"{path}: the dump does not exist");
        if (new FileInfo(path).Length == 0) throw new CalibrationInputException($"{path}: the dump is empty");
        byte[] image = format switch
        {
            DumpFormat.Binary => File.ReadAllBytes(path),
            DumpFormat.Hex => ParseHexBytes(File.ReadAllText(path), path),
            DumpFormat.HexWords => ParseHexWords(File.ReadAllText(path), path, geometry),
            _ => throw new ArgumentException($"{format} is not a dump format", nameof(format)),
        };
        long need = WrittenPattern.ImageBytes(geometry);
        if (image.LongLength != need)
        {
            string what = format == DumpFormat.Hex ? $" ({image.LongLength * 2} hex digits)" : "";
            throw new CalibrationInputException(
                $"{path}: dump length does not match the geometry: it holds {image.LongLength} bytes{what}, but {geometry} " +
                $"({geometry.Blocks} blocks x {geometry.RowsPerBlock} rows x {geometry.BitsPerRow} bits) needs {need} bytes");
        }
        return image;
    }

    /// <summary>The faults of one readback: the bits where it differs from what was written (padding bits are ignored).</summary>
    public static MeasuredRead Compare(ReadOnlySpan<byte> readback, ReadOnlySpan<byte> written, MemoryGeometry geometry, WrittenPattern? pattern,
        OperatingPoint point, int repeat, string source)
    {
        if (readback.Length != written.Length) throw new ArgumentException($"{source}: readback and written image differ in length ({readback.Length} vs {written.Length} bytes)");
        var faults = new List<MeasuredFault>();
        long total = geometry.TotalBits;
        int i = 0;
        // Eight bytes at a time: almost all of a readback matches.
        for (; i + 8 <= readback.Length; i += 8)
        {
            // Little-endian, so bit k of the chunk is cell 8i + k whatever the machine.
            ulong value = BinaryPrimitives.ReadUInt64LittleEndian(readback[i..]);
            ulong diff = value ^ BinaryPrimitives.ReadUInt64LittleEndian(written[i..]);
            if (diff == 0) continue;
            while (diff != 0)
            {
                int k = BitOperations.TrailingZeroCount(diff);
                diff &= diff - 1;
                AddFault(faults, geometry, (long)i * 8 + k, (value >> k & 1) != 0, total);
            }
        }
        for (; i < readback.Length; i++)
        {
            int diff = readback[i] ^ written[i];
            for (int k = 0; k < 8; k++)
                if ((diff >> k & 1) != 0) AddFault(faults, geometry, (long)i * 8 + k, (readback[i] >> k & 1) != 0, total);
        }
        return new MeasuredRead(point, repeat, faults, pattern, source);
    }

    private static void AddFault(List<MeasuredFault> faults, MemoryGeometry geometry, long cell, bool read, long total)
    {
        if (cell >= total) return;
        var a = geometry.Address(cell);
        faults.Add(new MeasuredFault(a.Block, a.Row, a.Bit, read, !read));
    }

    /// <summary>Hex digit pairs in address order; whitespace and line breaks anywhere are ignored.</summary>
    internal static byte[] ParseHexBytes(string text, string path)
    {
        var bytes = new List<byte>(text.Length / 2 + 1);
        int line = 1, column = 0, high = -1;
        foreach (char ch in text)
        {
            column++;
            if (ch == '\n')
            {
                line++;
                column = 0;
                continue;
            }
            if (char.IsWhiteSpace(ch)) continue;
            int v = HexValue(ch);
            if (v < 0) throw NotHex(path, line, column, ch);
            if (high < 0) high = v;
            else
            {
                bytes.Add((byte)(high << 4 | v));
                high = -1;
            }
        }
        if (bytes.Count == 0 && high < 0) throw new CalibrationInputException($"{path}: the hex dump holds no hex digits (empty input)");
        if (high >= 0) throw new CalibrationInputException($"{path}: the hex dump ends in the middle of a byte (an odd number of hex digits)");
        return bytes.ToArray();
    }

    /// <summary>
    /// One hex number per word, most significant digit first, separated by whitespace; a word may drop leading
    /// zeros but not have more digits than the word width allows.
    /// </summary>
    internal static byte[] ParseHexWords(string text, string path, MemoryGeometry geometry)
    {
        int width = geometry.WordBits;
        if (width > 64) throw new CalibrationInputException($"{path}: hexwords dumps need words of at most 64 bits, but geometry {geometry} has {width}-bit words; use the hex (byte) format");
        int maxDigits = (width + 3) / 4;
        long words = geometry.TotalBits / width;
        var image = new byte[WrittenPattern.ImageBytes(geometry)];
        long word = 0;
        int line = 1, column = 0, tokenLine = 0, tokenColumn = 0, digits = 0;
        ulong value = 0;

        void EndToken()
        {
            if (digits == 0) return;
            if (word >= words)
                throw new CalibrationInputException($"{path}, line {tokenLine}, column {tokenColumn}: dump length does not match the geometry: more than the {words} words of {geometry}");
            if (width < 64 && value >> width != 0)
                throw new CalibrationInputException($"{path}, line {tokenLine}, column {tokenColumn}: the word does not fit in {width} bits");
            long cell = word * width;
            for (int j = 0; j < width; j++)
                if ((value >> j & 1) != 0) image[(cell + j) >> 3] |= (byte)(1 << (int)((cell + j) & 7));
            word++;
            digits = 0;
            value = 0;
        }

        foreach (char ch in text)
        {
            column++;
            if (char.IsWhiteSpace(ch))
            {
                EndToken();
                if (ch == '\n')
                {
                    line++;
                    column = 0;
                }
                continue;
            }
            int v = HexValue(ch);
            if (v < 0) throw NotHex(path, line, column, ch);
            if (digits == 0)
            {
                tokenLine = line;
                tokenColumn = column;
            }
            if (++digits > maxDigits)
                throw new CalibrationInputException($"{path}, line {tokenLine}, column {tokenColumn}: a word has more than {maxDigits} hex digits ({width}-bit words); separate words by whitespace");
            value = value << 4 | (uint)v;
        }
        EndToken();
        if (word == 0) throw new CalibrationInputException($"{path}: the hex dump holds no words (empty input)");
        if (word != words)
            throw new CalibrationInputException($"{path}: dump length does not match the geometry: it holds {word} words, but {geometry} needs {words} words of {width} bits");
        return image;
    }

    private static int HexValue(char ch) => ch switch
    {
        >= '0' and <= '9' => ch - '0',
        >= 'a' and <= 'f' => ch - 'a' + 10,
        >= 'A' and <= 'F' => ch - 'A' + 10,
        _ => -1,
    };

    private static CalibrationInputException NotHex(string path, int line, int column, char ch)
    {
        string shown = char.IsControl(ch) ? $"U+{(int)ch:X4}" : $"'{ch}'";
        return new CalibrationInputException(
            $"{path}, line {line.ToString(CultureInfo.InvariantCulture)}, column {column.ToString(CultureInfo.InvariantCulture)}: non-hex character {shown}; a hex dump holds hex digits and whitespace only");
    }
}
