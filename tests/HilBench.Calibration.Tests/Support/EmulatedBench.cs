using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;
using HilBench.Calibration.Import;
using HilBench.Memory;
using HilBench.Memory.Backends;
using HilBench.Memory.Emulation;
using HilBench.Memory.Geometry;
using HilBench.Memory.Images;
using HilBench.Memory.Profiles;

namespace HilBench.Calibration.Tests.Support;

/// <summary>
/// A bench with an emulated chip: writes a pattern, reads it back at an operating point through the emulator's own
/// backend (<see cref="EmulatedMemory"/>: failing cells read their stuck value, marginal ones only on some reads)
/// and stores the readback as a binary or hex dump, so calibration tests go through the importers.
/// </summary>
internal sealed class EmulatedBench
{
    private readonly EmulatedMemory _memory;

    /// <summary>One image region over the whole memory; the default contiguous placement makes image bit i cell i.</summary>
    private readonly ImageLayout _whole;

    public EmulatedBench(DeviceProfile profile, int? seed = null)
    {
        Profile = profile;
        _memory = EmulatedMemory.For(profile, seed, threads: 2);
        _whole = new ImageLayout([new ImageRegion(0, RegionKind.Weights, 0, checked((int)(profile.Geometry.TotalBits / 64)), 64)]);
    }

    public DeviceProfile Profile { get; }

    public EmulatedChip Chip => _memory.Chip;

    public MemoryGeometry Geometry => Profile.Geometry;

    /// <summary>The readback image (LSB-first bytes) of <paramref name="pattern"/> at a point on read <paramref name="trial"/>.</summary>
    public byte[] Readback(WrittenPattern pattern, OperatingPoint point, int trial = 0)
    {
        var written = pattern.Image(Geometry);
        var image = new WeightImage(_whole);
        for (long cell = 0; cell < image.BitCount; cell++) image[cell] = (written[cell >> 3] >> (int)(cell & 7) & 1) != 0;
        _memory.Store(image);
        var readback = _memory.Load(new LoadRequest(point, trial)).Image;
        var bytes = new byte[written.Length];
        MemoryMarshal.AsBytes(readback.Words).CopyTo(bytes);
        return bytes;
    }

    public string WriteDump(string dir, WrittenPattern pattern, OperatingPoint point, DumpFormat format, int trial = 0)
    {
        var image = Readback(pattern, point, trial);
        string name = $"{pattern.Name.Replace(':', '_')}-V{point.Voltage.ToString("F3", CultureInfo.InvariantCulture)}-T{point.TemperatureC.ToString(CultureInfo.InvariantCulture)}-r{trial}";
        string path = Path.Combine(dir, name + (format == DumpFormat.Binary ? ".bin" : ".hex"));
        if (format == DumpFormat.Binary) File.WriteAllBytes(path, image);
        else File.WriteAllText(path, ToHexLines(image));
        return path;
    }

    /// <summary>Reads every pattern back at every point, <paramref name="repeats"/> times, straight into measured maps (no files).</summary>
    public Measured.MeasuredMaps Record(IEnumerable<OperatingPoint> points, IReadOnlyList<WrittenPattern> patterns, int repeats = 1)
    {
        var maps = new Measured.MeasuredMaps(Geometry, $"emulated {Profile.Name} chip {Chip.Seed}");
        foreach (var pattern in patterns)
        {
            var written = pattern.Image(Geometry);
            foreach (var point in points)
                for (int trial = 0; trial < repeats; trial++)
                    maps.Add(DumpImporter.Compare(Readback(pattern, point, trial), written, Geometry, pattern, point, trial, $"{pattern.Name} at {point} read {trial}"));
        }
        return maps;
    }

    /// <summary>Hex digit pairs, 32 bytes to a line, as `xxd -p` writes them.</summary>
    public static string ToHexLines(byte[] image)
    {
        var sb = new StringBuilder(image.Length * 2 + image.Length / 16);
        for (int i = 0; i < image.Length; i += 32)
            sb.Append(Convert.ToHexStringLower(image, i, Math.Min(32, image.Length - i))).Append('\n');
        return sb.ToString();
    }

    /// <summary>
    /// The shipped bram-like profile's cells and heterogeneity on a smaller memory: mean 0.41 V, sigma 0.035 V, block
    /// offsets Normal(0, 0.008 V), weak bitlines 0.2% (+0.03 V), weak wordlines 0.1% (+0.02 V), 90% stuck at 0.
    /// </summary>
    public static JsonObject BramLike(int blocks, int rows, int bits, double minVoltage = 0.50) => new()
    {
        ["schema"] = DeviceProfile.Schema,
        ["name"] = "bram-like-small",
        ["technology"] = "sram",
        ["provenance"] = new JsonObject { ["source"] = "calibration test", ["method"] = "the truth a calibration must recover" },
        ["geometry"] = new JsonObject { ["blocks"] = blocks, ["rows"] = rows, ["bitsPerRow"] = bits },
        ["nominal"] = new JsonObject { ["voltage"] = 1.0, ["temperature"] = 25.0 },
        ["range"] = new JsonObject { ["voltage"] = new JsonArray(minVoltage, 1.0), ["temperature"] = new JsonArray(0.0, 85.0) },
        ["cells"] = new JsonObject { ["mean"] = 0.41, ["sigma"] = 0.035, ["temperatureCoefficient"] = -0.0002 },
        ["blockOffsets"] = new JsonObject { ["distribution"] = "normal", ["sigma"] = 0.008 },
        ["weakBitlines"] = new JsonObject { ["fraction"] = 0.002, ["strength"] = 0.03 },
        ["weakWordlines"] = new JsonObject { ["fraction"] = 0.001, ["strength"] = 0.02 },
        ["polarity"] = new JsonObject { ["mode"] = "stuck", ["stuckAtZeroShare"] = 0.9 },
        ["chipSeed"] = 7,
    };

    /// <summary>
    /// A plain SRAM of <paramref name="blocks"/> x 256 x 32 bits: critical voltage Normal(0.41, 0.035), no block offsets
    /// or weak lines, 90% stuck at 0, range [0.50, 1.0] V and [0, 85] C; tests add what they look for.
    /// </summary>
    public static JsonObject PlainSram(int blocks = 256) => new()
    {
        ["schema"] = DeviceProfile.Schema,
        ["name"] = "plain-sram",
        ["technology"] = "sram",
        ["provenance"] = new JsonObject { ["source"] = "calibration test", ["method"] = "the truth a calibration must recover" },
        ["geometry"] = new JsonObject { ["blocks"] = blocks, ["rows"] = 256, ["bitsPerRow"] = 32 },
        ["nominal"] = new JsonObject { ["voltage"] = 1.0, ["temperature"] = 25.0 },
        ["range"] = new JsonObject { ["voltage"] = new JsonArray(0.50, 1.0), ["temperature"] = new JsonArray(0.0, 85.0) },
        ["cells"] = new JsonObject { ["mean"] = 0.41, ["sigma"] = 0.035 },
        ["polarity"] = new JsonObject { ["mode"] = "stuck", ["stuckAtZeroShare"] = 0.9 },
        ["chipSeed"] = 3,
    };

    public static IReadOnlyList<OperatingPoint> Points(double high, double low, double temperature = 25) =>
        Voltages(high, low).Select(v => new OperatingPoint(v, null, temperature)).ToArray();

    public static DeviceProfile Load(JsonObject json) => DeviceProfile.Parse(json.ToJsonString(), "test profile");

    /// <summary>Voltages from <paramref name="high"/> down to <paramref name="low"/> in 10 mV steps.</summary>
    public static IReadOnlyList<double> Voltages(double high, double low) =>
        Enumerable.Range(0, (int)Math.Round((high - low) / 0.01) + 1).Select(i => Math.Round(high - 0.01 * i, 3)).ToArray();
}

/// <summary>A fresh directory per test or fixture, removed afterwards.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory() =>
        Path = Directory.CreateDirectory(System.IO.Path.Combine(System.IO.Path.GetTempPath(), "hilbench-calibration-tests", System.IO.Path.GetRandomFileName())).FullName;

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
    }
}
