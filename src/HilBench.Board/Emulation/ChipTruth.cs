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

    public static ChipTruth Load(string path)
    {
        var header = new Dictionary<string, string>();
        var cells = new List<WeakCell>();
        foreach (var line in File.ReadLines(path))
        {
            if (line.StartsWith('#'))
            {
                var text = line[1..].Trim();
                int space = text.IndexOf(' ');
                if (space > 0) header[text[..space]] = text[(space + 1)..];
                continue;
            }
            if (line.Length == 0) continue;
            var f = line.Split(' ');
            cells.Add(new WeakCell(long.Parse(f[0], CultureInfo.InvariantCulture), long.Parse(f[1], CultureInfo.InvariantCulture), f[2] == "1", f[3] == "1"));
        }
        return new ChipTruth(header, cells);
    }

    /// <summary>Cells below <paramref name="cellLimit"/> that read wrong at <paramref name="voltageMv"/> (nominal temperature) given the written bytes.</summary>
    public long[] FailingCells(int voltageMv, byte[] written, long firstCell = 0)
    {
        long limit = firstCell + 8L * written.Length;
        return Cells.Where(c => c.Cell >= firstCell && c.Cell < limit && c.CriticalMicrovolts > voltageMv * 1000L)
            .Where(c => ((written[(c.Cell - firstCell) >> 3] >> (int)(c.Cell & 7) & 1) != 0) != c.Stuck)
            .Select(c => c.Cell).Order().ToArray();
    }
}
