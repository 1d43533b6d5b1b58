using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using HilBench.Calibration.Measured;
using HilBench.Memory;
using HilBench.Memory.Geometry;

namespace HilBench.Calibration.Import;

/// <summary>One measured file: where it is, the point it was read at and its repeat index; pattern and format override the defaults.</summary>
public sealed record MeasuredFileSpec(string Path, OperatingPoint? Point, int Repeat = 0, string? Pattern = null, DumpFormat? Format = null);

/// <summary>
/// Builds <see cref="MeasuredMaps"/> from lists of files, as the command line gives them (--dump PATH --op ...), or
/// from a manifest: a JSON file naming the geometry, format (bin, hex, hexwords, csv, faultmap), the pattern
/// written, an optional chip description and the files with their points; an entry's own pattern or format
/// overrides the shared one, and relative paths are relative to the manifest.
/// </summary>
/// <example>
/// <code>
/// {
///   "geometry": "64x512x32",
///   "format": "bin",
///   "pattern": "0xFFFF",
///   "chip": "board 3, BRAM column X0",
///   "entries": [
///     { "path": "v060.bin", "op": "V=0.60" },
///     { "path": "v055.bin", "op": "V=0.55" },
///     { "path": "v055-r1.bin", "op": "V=0.55", "repeat": 1 },
///     { "path": "v055-zero.bin", "op": "V=0.55", "pattern": "0x0000" }
///   ]
/// }
/// </code>
/// </example>
public static class MeasuredInputs
{
    /// <summary>
    /// Reads every file with the shared format, geometry and pattern (a file's own pattern or format wins). Fault
    /// maps carry their points; every other file needs one.
    /// </summary>
    public static MeasuredMaps FromFiles(IReadOnlyList<MeasuredFileSpec> files, DumpFormat format, MemoryGeometry geometry, string? pattern,
        string? baseDirectory = null, string description = "", string origin = "command line")
    {
        if (files.Count == 0) throw new CalibrationInputException($"{origin}: no measured files given (empty input)");
        var maps = new MeasuredMaps(geometry, description);
        var patterns = new Dictionary<string, WrittenPattern>();
        WrittenPattern? PatternOf(string? text, string where)
        {
            if (text is null) return null;
            if (!patterns.TryGetValue(text, out var p)) patterns[text] = p = WrittenPattern.Parse(text, baseDirectory, where);
            return p;
        }
        foreach (var file in files)
        {
            string path = baseDirectory is not null && !Path.IsPathRooted(file.Path) ? Path.Combine(baseDirectory, file.Path) : file.Path;
            var f = file.Format ?? format;
            var p = PatternOf(file.Pattern ?? pattern, $"{origin} ({file.Path})");
            if (file.Repeat < 0) throw new CalibrationInputException($"{origin}: {file.Path}: repeat must be 0 or more, got {file.Repeat}");
            if (f == DumpFormat.FaultMap)
            {
                maps.AddFaultMap(path, p);
                continue;
            }
            var point = file.Point ?? throw new CalibrationInputException($"{origin}: {file.Path} has no operating point; give one (op \"V=0.55\")");
            if (f == DumpFormat.FaultList) maps.AddFaultList(path, point, file.Repeat, p);
            else maps.AddDump(path, f, p ?? throw new CalibrationInputException($"{origin}: {file.Path}: a dump needs the pattern that was written (e.g. 0xFFFF, checkerboard or a pattern file)"), point, file.Repeat);
        }
        return maps;
    }

    /// <summary>Loads a manifest; paths in it are relative to the manifest's folder.</summary>
    public static MeasuredMaps FromManifest(string path)
    {
        if (!File.Exists(path)) throw new CalibrationInputException($"{path}: the manifest does not exist");
        string text = File.ReadAllText(path);
        if (text.Trim() == "") throw new CalibrationInputException($"{path}: the manifest is empty");
        JsonObject root;
        try
        {
            root = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }) as JsonObject
                   ?? throw new CalibrationInputException($"{path}: a manifest is a JSON object with geometry, format, pattern and entries");
        }
        catch (JsonException e)
        {
            throw new CalibrationInputException($"{path}: the manifest is not valid JSON ({e.Message})");
        }
        string Str(JsonNode? node, string field, bool required)
        {
            if (node is null)
                return required ? throw new CalibrationInputException($"{path}: field '{field}' is missing") : "";
            return node is JsonValue v && v.TryGetValue(out string? s) ? s : throw new CalibrationInputException($"{path}: field '{field}' must be a string, got {node.ToJsonString()}");
        }
        var geometry = ParseGeometry(Str(root["geometry"], "geometry", true), $"{path}: field 'geometry'");
        var format = DumpFormats.Parse(Str(root["format"], "format", true), $"{path}: field 'format'");
        string? pattern = root["pattern"] is null ? null : Str(root["pattern"], "pattern", false);
        if (root["entries"] is not JsonArray { Count: > 0 } entries)
            throw new CalibrationInputException($"{path}: field 'entries' must be a non-empty list of {{ \"path\": ..., \"op\": ... }}");
        var files = new List<MeasuredFileSpec>();
        for (int i = 0; i < entries.Count; i++)
        {
            string field = $"entries[{i}]";
            if (entries[i] is not JsonObject e) throw new CalibrationInputException($"{path}: {field} must be an object with path and op");
            string file = Str(e["path"], field + ".path", true);
            OperatingPoint? point = null;
            if (e["op"] is { } op) point = ParsePoint(Str(op, field + ".op", true), $"{path}: {field}.op");
            int repeat = 0;
            if (e["repeat"] is { } r)
            {
                if (r is not JsonValue rv || !rv.TryGetValue(out double d) || d != Math.Floor(d) || d < 0 || d > int.MaxValue)
                    throw new CalibrationInputException($"{path}: {field}.repeat must be a whole number >= 0, got {r.ToJsonString()}");
                repeat = (int)d;
            }
            string? own = e["pattern"] is null ? null : Str(e["pattern"], field + ".pattern", false);
            DumpFormat? fmt = e["format"] is null ? null : DumpFormats.Parse(Str(e["format"], field + ".format", false), $"{path}: {field}.format");
            files.Add(new MeasuredFileSpec(file, point, repeat, own, fmt));
        }
        string description = root["chip"] is null ? "" : Str(root["chip"], "chip", false);
        var maps = FromFiles(files, format, geometry, pattern, Path.GetDirectoryName(Path.GetFullPath(path)), description, path);
        maps.AddInput(path, "manifest");
        return maps;
    }

    /// <summary>Parses BLOCKSxROWSxWORDBITS (e.g. 64x512x32), refusing with a message that names where it came from.</summary>
    public static MemoryGeometry ParseGeometry(string text, string origin = "--geometry")
    {
        try { return MemoryGeometry.Parse(text.Trim()); }
        catch (FormatException e) { throw new CalibrationInputException($"{origin}: {e.Message}"); }
    }

    /// <summary>Parses an operating point such as V=0.55 or V=0.55,T=85 (missing fields: T = 25 C).</summary>
    public static OperatingPoint ParsePoint(string text, string origin = "--op")
    {
        try { return OperatingPoint.Parse(text); }
        catch (FormatException e) { throw new CalibrationInputException($"{origin}: {e.Message}"); }
    }

    /// <summary>Parses "0.50,0.51" or "500mV, 0.51V" into volts (the --holdout list).</summary>
    public static IReadOnlyList<double> ParseVoltages(string text, string origin = "--holdout")
    {
        var list = new List<double>();
        foreach (var part in text.Split([',', ';', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string p = part;
            double scale = 1;
            if (p.EndsWith("mv", StringComparison.OrdinalIgnoreCase)) { p = p[..^2]; scale = 1e-3; }
            else if (p.EndsWith('v') || p.EndsWith('V')) p = p[..^1];
            if (!double.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !(v > 0))
                throw new CalibrationInputException($"{origin}: '{part}' is not a voltage; write volts separated by commas, e.g. 0.50,0.51");
            list.Add(v * scale);
        }
        return list;
    }
}
