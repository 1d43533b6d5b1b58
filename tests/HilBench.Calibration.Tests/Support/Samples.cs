using System.Text.Json;
using System.Text.Json.Nodes;
using HilBench.Calibration.Import;
using HilBench.Memory;

namespace HilBench.Calibration.Tests.Support;

/// <summary>
/// The sample readback dumps in calibration/samples/: an emulated chip of 64 blocks of 128 x 32 bits read back
/// with a checkerboard at 0.56..0.50 V (0.53 and 0.50 as hex dumps, the rest binary), with the manifest that
/// names them and the profile they were emulated from.
/// </summary>
internal static class Samples
{
    public const string Geometry = "64x128x32";

    public static JsonObject Truth()
    {
        var json = EmulatedBench.BramLike(blocks: 64, rows: 128, bits: 32);
        json["name"] = "sample-truth";
        json["provenance"] = new JsonObject
        {
            ["source"] = "HilBench calibration samples",
            ["method"] = "hand-set: the bram-like profile's cells, block offsets and polarity on a 64x128x32 memory, without weak lines",
        };
        json["description"] = "The profile the sample dumps in calibration/samples were emulated from (chip 7); a calibration should come close to it.";
        json.Remove("weakBitlines");
        json.Remove("weakWordlines");
        return json;
    }

    public static IReadOnlyList<(string File, double Voltage, DumpFormat Format)> Files { get; } =
        EmulatedBench.Voltages(0.56, 0.50).Select(v => ($"checkerboard-{v * 1000:F0}mV.{(v is 0.53 or 0.50 ? "hex" : "bin")}", v, v is 0.53 or 0.50 ? DumpFormat.Hex : DumpFormat.Binary)).ToArray();

    /// <summary>Writes truth.json, the dumps and manifest.json into <paramref name="dir"/>.</summary>
    public static void Write(string dir)
    {
        Directory.CreateDirectory(dir);
        var truthJson = Truth();
        File.WriteAllText(Path.Combine(dir, "truth.json"), truthJson.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        var bench = new EmulatedBench(EmulatedBench.Load(truthJson));
        var pattern = new Checkerboard(inverse: false);
        foreach (var (file, v, format) in Files)
        {
            var image = bench.Readback(pattern, new OperatingPoint(v));
            string path = Path.Combine(dir, file);
            if (format == DumpFormat.Binary) File.WriteAllBytes(path, image);
            else File.WriteAllText(path, EmulatedBench.ToHexLines(image));
        }
        var manifest = new JsonObject
        {
            ["geometry"] = Geometry,
            ["format"] = "bin",
            ["pattern"] = "checkerboard",
            ["chip"] = "emulated from truth.json, chip 7",
            ["entries"] = new JsonArray(Files.Select(f => (JsonNode)(f.Format == DumpFormat.Binary
                ? new JsonObject { ["path"] = f.File, ["op"] = $"V={f.Voltage:0.00}" }
                : new JsonObject { ["path"] = f.File, ["op"] = $"V={f.Voltage:0.00}", ["format"] = "hex" })).ToArray()),
        };
        File.WriteAllText(Path.Combine(dir, "manifest.json"), manifest.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>The repository's calibration/samples folder, found by walking up to HilBench.sln.</summary>
    public static string RepoDirectory()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "HilBench.sln"))) return Path.Combine(dir.FullName, "calibration", "samples");
        throw new InvalidOperationException($"no HilBench.sln above {TestContext.CurrentContext.TestDirectory}");
    }
}
