using System.Globalization;
using HilBench.Calibration.Measured;
using HilBench.Memory;
using HilBench.Memory.Backends;
using HilBench.Memory.Geometry;

namespace HilBench.Calibration.Import;

/// <summary>
/// CSV fault lists measured at one operating point: one wrong bit per line as block,row,bit or block,row,bit,read
/// (read 0 or 1, or empty for unknown), an optional header line naming those columns, '#' comment lines. A fault
/// list holds wrong bits only, so with a known pattern a line whose read equals the written bit is refused.
/// </summary>
public static class FaultListImporter
{
    public static MeasuredRead Read(string path, MemoryGeometry geometry, OperatingPoint point, int repeat = 0, WrittenPattern? pattern = null)
    {
        if (!File.Exists(path)) throw new CalibrationInputException($"{path}: the fault list does not exist");
        var lines = File.ReadAllLines(path);
        if (lines.All(l => l.Trim() == "")) throw new CalibrationInputException($"{path}: the fault list is empty (not even a header line)");
        var faults = new List<MeasuredFault>();
        var seen = new HashSet<long>();
        bool first = true;
        for (int n = 1; n <= lines.Length; n++)
        {
            string line = lines[n - 1].Trim();
            if (line == "" || line.StartsWith('#')) continue;
            string where = $"{path}, line {n}";
            var f = line.Split(',').Select(s => s.Trim()).ToArray();
            if (first)
            {
                first = false;
                if (f.Length > 0 && f[0].Length > 0 && char.IsLetter(f[0][0]))
                {
                    string header = string.Join(",", f).ToLowerInvariant();
                    if (header is not ("block,row,bit" or "block,row,bit,read"))
                        throw new CalibrationInputException($"{where}: the header must be 'block,row,bit' or 'block,row,bit,read', got '{line}'");
                    continue;
                }
            }
            if (f.Length is not (3 or 4)) throw new CalibrationInputException($"{where}: expected 3 or 4 fields (block,row,bit[,read]), got {f.Length}");
            int block = Int(f[0], "block", geometry.Blocks, where, geometry);
            int row = Int(f[1], "row", geometry.RowsPerBlock, where, geometry);
            int bit = Int(f[2], "bit", geometry.BitsPerRow, where, geometry);
            bool? read = f.Length == 4 ? f[3] switch
            {
                "" => null,
                "0" => false,
                "1" => true,
                _ => throw new CalibrationInputException($"{where}: read must be 0, 1 or empty, got '{f[3]}'"),
            } : null;
            long cell = geometry.Cell(block, row, bit);
            if (!seen.Add(cell)) throw new CalibrationInputException($"{where}: block {block}, row {row}, bit {bit} is listed twice");
            bool? stored = pattern?.StoredAt(geometry, cell);
            if (stored is { } s)
            {
                if (read == s)
                    throw new CalibrationInputException($"{where}: the cell reads {(s ? 1 : 0)}, the value {pattern!.Name} wrote there; a fault list holds wrong bits only");
                read ??= !s;
            }
            else if (read is { } r) stored = !r;
            faults.Add(new MeasuredFault(block, row, bit, read, stored));
        }
        return new MeasuredRead(point, repeat, faults, pattern, path);
    }

    private static int Int(string text, string what, int count, string where, MemoryGeometry geometry)
    {
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int v))
            throw new CalibrationInputException($"{where}: {what} must be a whole number, got '{text}'");
        if (v >= count)
            throw new CalibrationInputException($"{where}: {what} {v} is out of the geometry {geometry} ({what} must be below {count})");
        return v;
    }
}

/// <summary>HilBench's own fault maps (<see cref="FaultMap"/>): every recorded read becomes a measured read; trial k is repeat k.</summary>
public static class FaultMapImporter
{
    public static IReadOnlyList<MeasuredRead> Read(string path, MemoryGeometry geometry, WrittenPattern? pattern = null)
    {
        if (!File.Exists(path)) throw new CalibrationInputException($"{path}: the fault map does not exist");
        if (new FileInfo(path).Length == 0) throw new CalibrationInputException($"{path}: the fault map is empty");
        FaultMap map;
        try { map = FaultMap.Load(path); }
        catch (FormatException e) { throw new CalibrationInputException(e.Message); }
        if (map.Geometry.Blocks != geometry.Blocks || map.Geometry.RowsPerBlock != geometry.RowsPerBlock || map.Geometry.BitsPerRow != geometry.BitsPerRow)
            throw new CalibrationInputException($"{path}: the fault map's geometry {map.Geometry} differs from the calibration's {geometry}");
        if (map.Reads.Count == 0) throw new CalibrationInputException($"{path}: the fault map records no reads (empty input)");
        var reads = new List<MeasuredRead>();
        foreach (var read in map.Reads)
        {
            var faults = new List<MeasuredFault>(read.Faults.Count);
            foreach (var f in read.Faults)
            {
                bool? stored = pattern?.StoredAt(geometry, geometry.Cell(f.Block, f.Row, f.Bit));
                bool? value = f.Read;
                // An empty read value means "the inverse of what was stored".
                if (value is null && stored is { } s) value = !s;
                if (stored is null && value is { } v) stored = !v;
                if (value is { } rv && stored is { } sv && rv == sv)
                    throw new CalibrationInputException($"{path}: {read.Point} block {f.Block}, row {f.Row}, bit {f.Bit} reads {(rv ? 1 : 0)}, the value {pattern!.Name} wrote there; is it the right pattern?");
                faults.Add(new MeasuredFault(f.Block, f.Row, f.Bit, value, stored));
            }
            reads.Add(new MeasuredRead(read.Point, read.Trial ?? 0, faults, pattern, path));
        }
        return reads;
    }
}
