using System.Globalization;

namespace HilBench.Board.Emulation;

/// <summary>
/// The emulator's ground truth (<c>hilboard-emu --truth FILE</c>, firmware-protocol/firmware/README.md): the chip's
/// parameters in the header and every weak cell with its critical voltage and stuck value.
/// </summary>
public sealed class ChipTruth
{
    public readonly record struct WeakCell(long Cell, long CriticalMicrovolts, bool Stuck, bool Marginal);

    private ChipTruth(Dictionary<string, string> header, List<WeakCell> cells)
    {
        Header = header;
        Cells = cells;
    }

    public IReadOnlyDictionary<string, string> Header { get; }

    public IReadOnlyList<WeakCell> Cells { get; }

    /// <summary>Reads a truth file; a malformed line is an <see cref="InvalidDataException"/> naming the file and the line.</summary>
    public static ChipTruth Load(string path)
    {
        var header = new Dictionary<string, string>();
        var cells = new List<WeakCell>();
        int number = 0;
        foreach (var line in File.ReadLines(path))
        {
            number++;
            if (line.StartsWith('#'))
            {
                var text = line[1..].Trim();
                int space = text.IndexOf(' ');
                if (space > 0) header[text[..space]] = text[(space + 1)..];
                continue;
            }
            if (line.Length == 0) continue;
            var f = line.Split(' ');
            if (f.Length != 4 || !long.TryParse(f[0], NumberStyles.None, CultureInfo.InvariantCulture, out long cell) ||
                !long.TryParse(f[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long microvolts) || f[2] is not ("0" or "1") || f[3] is not ("0" or "1"))
                throw new InvalidDataException($"{path}, line {number}: expected a weak cell as 'cell critical_uV stuck marginal' (whole numbers, stuck and marginal 0 or 1), " +
                                               $"found '{line}'; write the file again with hilboard-emu --truth");
            cells.Add(new WeakCell(cell, microvolts, f[2] == "1", f[3] == "1"));
        }
        return new ChipTruth(header, cells);
    }

    /// <summary>
    /// Cells of the bytes <paramref name="written"/> covers, from byte address <paramref name="firstByte"/>, that read
    /// wrong at <paramref name="voltageMv"/> (nominal temperature) given those bytes as written.
    /// </summary>
    public long[] FailingCells(int voltageMv, byte[] written, long firstByte = 0)
    {
        long first = 8 * firstByte, limit = first + 8L * written.Length;
        return Cells.Where(c => c.Cell >= first && c.Cell < limit && c.CriticalMicrovolts > voltageMv * 1000L)
            .Where(c => ((written[(c.Cell >> 3) - firstByte] >> (int)(c.Cell & 7) & 1) != 0) != c.Stuck)
            .Select(c => c.Cell).Order().ToArray();
    }
}
