using System.Globalization;
using System.Security.Cryptography;
using HilBench.Calibration.Import;
using HilBench.Memory;
using HilBench.Memory.Geometry;

namespace HilBench.Calibration.Measured;

/// <summary>
/// One wrong bit of a read: where it sits and what it read. <see cref="Read"/> is null when the source only says
/// "the bit was wrong" (a fault list without a read column); <see cref="Stored"/> is null when the written data is
/// unknown. A fault is a wrong bit, so where both are known they differ.
/// </summary>
public readonly record struct MeasuredFault(int Block, int Row, int Bit, bool? Read, bool? Stored);

/// <summary>
/// The faults of one readback at one operating point. <see cref="Repeat"/> numbers repeated reads of the same
/// data at the same point (0 for the first); <see cref="Pattern"/> is what was written (null: unknown).
/// </summary>
public sealed record MeasuredRead(OperatingPoint Point, int Repeat, IReadOnlyList<MeasuredFault> Faults, WrittenPattern? Pattern, string Source)
{
    public long OneToZero => Faults.LongCount(f => f.Read == false);

    public long ZeroToOne => Faults.LongCount(f => f.Read == true);
}

/// <summary>A file the maps were read from, with its SHA-256, for the profile's provenance.</summary>
public sealed record InputFile(string Path, string Sha256, long Bytes, string Role)
{
    public static InputFile Of(string path, string role)
    {
        using var stream = File.OpenRead(path);
        string hash = Convert.ToHexStringLower(SHA256.HashData(stream));
        return new InputFile(path, hash, new FileInfo(path).Length, role);
    }
}

/// <summary>
/// Measured fault maps of one memory: its geometry and the reads taken at several operating points. Every
/// importer (binary and hex dumps, fault lists, HilBench fault maps, a manifest) produces this, and so will the
/// board path; the calibrator consumes it. A read at the same point, with the same pattern and repeat number as
/// an earlier one is refused, since it would count the same measurement twice.
/// </summary>
public sealed class MeasuredMaps(MemoryGeometry geometry, string description = "")
{
    private readonly List<MeasuredRead> _reads = [];
    private readonly List<InputFile> _inputs = [];
    private readonly Dictionary<string, MeasuredRead> _byKey = [];

    public MemoryGeometry Geometry { get; } = geometry;

    /// <summary>Free text about the chip or board, carried into the profile's provenance.</summary>
    public string Description { get; set; } = description;

    public IReadOnlyList<MeasuredRead> Reads => _reads;

    public IReadOnlyList<InputFile> Inputs => _inputs;

    /// <summary>
    /// Adds a read after checking its faults lie inside the geometry, that no cell is listed twice (it would be
    /// counted twice) and that it is not a second copy of an earlier read.
    /// </summary>
    public MeasuredMaps Add(MeasuredRead read)
    {
        var g = Geometry;
        var cells = new HashSet<long>(read.Faults.Count);
        foreach (var f in read.Faults)
        {
            if ((uint)f.Block >= (uint)g.Blocks || (uint)f.Row >= (uint)g.RowsPerBlock || (uint)f.Bit >= (uint)g.BitsPerRow)
                throw new CalibrationInputException($"{read.Source}: fault at block {f.Block}, row {f.Row}, bit {f.Bit} lies outside the geometry {g} (blocks x rows x bits)");
            if (!cells.Add(g.Cell(f.Block, f.Row, f.Bit)))
                throw new CalibrationInputException($"{read.Source}: block {f.Block}, row {f.Row}, bit {f.Bit} is listed twice in the read at {read.Point} repeat {read.Repeat.ToString(CultureInfo.InvariantCulture)}; " +
                                                   "a read lists each faulty cell once: remove the repeated entry");
        }
        string key = Key(read);
        if (_byKey.TryGetValue(key, out var earlier))
            throw new CalibrationInputException(
                $"{read.Source}: duplicate operating point: {read.Point} repeat {read.Repeat.ToString(CultureInfo.InvariantCulture)} with pattern {read.Pattern?.Name ?? "(unknown)"} " +
                $"was already read from {earlier.Source}; number repeated reads with distinct repeat indices or drop one");
        _byKey[key] = read;
        _reads.Add(read);
        return this;
    }

    /// <summary>Records a file for the provenance (its SHA-256 is computed now), once per path.</summary>
    public MeasuredMaps AddInput(string path, string role)
    {
        string full = Path.GetFullPath(path);
        if (!_inputs.Any(i => Path.GetFullPath(i.Path) == full)) _inputs.Add(InputFile.Of(path, role));
        return this;
    }

    /// <summary>Reads a binary or hex readback dump, compares it with the written pattern and adds the read.</summary>
    public MeasuredMaps AddDump(string path, DumpFormat format, WrittenPattern pattern, OperatingPoint point, int repeat = 0)
    {
        var read = DumpImporter.Read(path, format, Geometry, pattern, point, repeat);
        AddInput(path, "dump");
        if (pattern is PatternFile file) AddInput(file.Path, "pattern");
        return Add(read);
    }

    /// <summary>Adds a CSV fault list (block,row,bit[,read]) measured at one point.</summary>
    public MeasuredMaps AddFaultList(string path, OperatingPoint point, int repeat = 0, WrittenPattern? pattern = null)
    {
        var read = FaultListImporter.Read(path, Geometry, point, repeat, pattern);
        AddInput(path, "fault list");
        if (pattern is PatternFile file) AddInput(file.Path, "pattern");
        return Add(read);
    }

    /// <summary>Adds every read of a HilBench fault map (FaultMap format); its geometry must be this one.</summary>
    public MeasuredMaps AddFaultMap(string path, WrittenPattern? pattern = null)
    {
        foreach (var read in FaultMapImporter.Read(path, Geometry, pattern)) Add(read);
        AddInput(path, "fault map");
        if (pattern is PatternFile file) AddInput(file.Path, "pattern");
        return this;
    }

    private static string Key(MeasuredRead read) => $"{read.Point}|{read.Repeat}|{read.Pattern?.Name}";
}
