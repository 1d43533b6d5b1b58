using System.Globalization;
using HilBench.Memory.Geometry;

namespace HilBench.Memory.Backends;

/// <summary>One recorded faulty cell: where it is and what it read (null: it read the inverse of what was stored).</summary>
public readonly record struct RecordedFault(int Block, int Row, int Bit, bool? Read);

/// <summary>The faults of one read at one operating point; a map without trial numbers holds one read that stands for every trial.</summary>
public sealed record RecordedRead(OperatingPoint Point, int? Trial, IReadOnlyList<RecordedFault> Faults);

/// <summary>
/// HilBench's fault-map format (docs/device-profile.md, "Fault maps"): a text file with a header naming
/// the geometry and CSV records op,trial,block,row,bit,read. Written by the emulator and by board runs,
/// replayed by <see cref="ReplayBackend"/>, imported by calibration. A read lists each faulty cell once: a cell
/// listed twice would be counted twice, and with two read values neither could be trusted, so it is refused.
/// </summary>
public sealed class FaultMap
{
    public const string Magic = "# hilbench fault map 1";
    private const string Columns = "op,trial,block,row,bit,read";

    public FaultMap(MemoryGeometry geometry, IReadOnlyList<RecordedRead> reads, string description = "")
    {
        // Read back, the records of one point and trial make one read, so two such reads could not be told apart.
        var keys = new HashSet<string>(reads.Count);
        foreach (var read in reads)
            if (!keys.Add(read.Point + "|" + read.Trial))
                throw new ArgumentException(
                    $"two reads at {read.Point}{(read.Trial is { } t ? $" trial {t}" : " without a trial number")}; a fault map holds one read per point and trial: " +
                    "number the reads of a point measured more than once as trials 0, 1, ...");
        foreach (var read in reads)
        {
            var seen = new HashSet<long>(read.Faults.Count);
            foreach (var f in read.Faults)
                if (!seen.Add(geometry.Cell(f.Block, f.Row, f.Bit)))
                    throw new ArgumentException(
                        $"block {f.Block}, row {f.Row}, bit {f.Bit} is listed twice in the read at {read.Point}{(read.Trial is { } t ? $" trial {t}" : "")}; " +
                        "a read lists each faulty cell once: remove the repeated entry (if the two disagree on the read value, check which is right)");
        }
        Geometry = geometry;
        Reads = reads;
        Description = description;
    }

    public MemoryGeometry Geometry { get; }

    public IReadOnlyList<RecordedRead> Reads { get; }

    public string Description { get; }

    public IEnumerable<OperatingPoint> Points => Reads.Select(r => r.Point).DistinctBy(p => p.ToString());

    public void Save(string path)
    {
        using var w = new StreamWriter(path);
        Save(w);
    }

    public void Save(TextWriter w)
    {
        w.WriteLine(Magic);
        w.WriteLine($"# geometry {Geometry}");
        if (Description != "") w.WriteLine($"# chip {Description.ReplaceLineEndings(" ")}");
        w.WriteLine(Columns);
        foreach (var read in Reads)
        {
            string op = read.Point.ToString(";"), trial = read.Trial?.ToString(CultureInfo.InvariantCulture) ?? "";
            if (read.Faults.Count == 0) w.WriteLine($"{op},{trial},,,,"); // a read without faults still records the point
            foreach (var f in read.Faults)
                w.WriteLine($"{op},{trial},{f.Block},{f.Row},{f.Bit},{(f.Read is { } v ? v ? "1" : "0" : "")}");
        }
    }

    public static FaultMap Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"fault map {path} does not exist", path);
        using var reader = new StreamReader(path);
        string Where(int line) => $"{path}, line {line}";
        if (reader.ReadLine() != Magic)
            throw new FormatException($"{path} is not a HilBench fault map: the first line must be '{Magic}' (see docs/device-profile.md)");
        MemoryGeometry? geometry = null;
        string description = "";
        var reads = new List<(string Key, OperatingPoint Point, int? Trial, List<RecordedFault> Faults)>();
        var index = new Dictionary<string, int>();
        bool header = false;
        int n = 1;
        for (string? line = reader.ReadLine(); line is not null; line = reader.ReadLine())
        {
            n++;
            if (line.Trim() == "") continue;
            if (line.StartsWith('#'))
            {
                var text = line[1..].Trim();
                if (text.StartsWith("geometry ", StringComparison.Ordinal))
                {
                    try { geometry = MemoryGeometry.Parse(text["geometry ".Length..].Trim()); }
                    catch (FormatException e) { throw new FormatException($"{Where(n)}: {e.Message}"); }
                }
                else if (text.StartsWith("chip ", StringComparison.Ordinal)) description = text["chip ".Length..].Trim();
                continue;
            }
            if (!header)
            {
                if (line.Trim() != Columns) throw new FormatException($"{Where(n)}: expected the column line '{Columns}'");
                if (geometry is null) throw new FormatException($"{Where(n)}: the header has no '# geometry BLOCKSxROWSxBITS' line");
                header = true;
                continue;
            }
            var f = line.Split(',');
            if (f.Length != 6) throw new FormatException($"{Where(n)}: expected 6 fields ({Columns}), got {f.Length}");
            OperatingPoint op;
            try { op = OperatingPoint.Parse(f[0]); }
            catch (FormatException e) { throw new FormatException($"{Where(n)}: {e.Message}"); }
            int? trial = f[1].Trim() == "" ? null : Int(f[1], "trial", int.MaxValue, Where(n));
            string key = op.ToString() + "|" + trial;
            if (!index.TryGetValue(key, out int r))
            {
                index[key] = r = reads.Count;
                reads.Add((key, op, trial, []));
            }
            if (f[2].Trim() == "" && f[3].Trim() == "" && f[4].Trim() == "") continue;
            var g = geometry!;
            int block = Int(f[2], "block", g.Blocks - 1, Where(n)), row = Int(f[3], "row", g.RowsPerBlock - 1, Where(n)), bit = Int(f[4], "bit", g.BitsPerRow - 1, Where(n));
            bool? value = f[5].Trim() switch
            {
                "" => null,
                "0" => false,
                "1" => true,
                var other => throw new FormatException($"{Where(n)}: read value must be 0, 1 or empty (inverted), got '{other}'"),
            };
            reads[r].Faults.Add(new RecordedFault(block, row, bit, value));
        }
        if (geometry is null) throw new FormatException($"{path}: the header has no '# geometry BLOCKSxROWSxBITS' line");
        try { return new FaultMap(geometry, reads.Select(r => new RecordedRead(r.Point, r.Trial, r.Faults)).ToArray(), description); }
        catch (ArgumentException e) { throw new FormatException($"{path}: {e.Message}"); }
    }

    private static int Int(string text, string what, int max, string where)
    {
        if (!int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int v) || v > max)
            throw new FormatException($"{where}: {what} must be a whole number from 0 to {max}, got '{text.Trim()}'");
        return v;
    }
}
