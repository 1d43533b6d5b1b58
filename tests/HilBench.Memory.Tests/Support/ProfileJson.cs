using System.Text.Json.Nodes;
using HilBench.Memory.Profiles;

namespace HilBench.Memory.Tests.Support;

/// <summary>
/// Builds device profile JSON in code: a small SRAM or DRAM with no heterogeneity and flip polarity, then
/// <see cref="Set"/> / <see cref="Remove"/> by dotted path to add features or break fields.
/// </summary>
public sealed class ProfileJson
{
    private readonly JsonObject _root;

    private ProfileJson(JsonObject root) => _root = root;

    /// <summary>
    /// An SRAM of <paramref name="blocks"/> x <paramref name="rows"/> x <paramref name="bitsPerRow"/> (default 256 x 256 x 64 = 4 Mbit),
    /// critical voltage Normal(mean, sigma), 1.0 V nominal, range [minVoltage, 1.0] V, flip polarity, no offsets, weak lines or transient part.
    /// </summary>
    public static ProfileJson Sram(int blocks = 256, int rows = 256, int bitsPerRow = 64, double mean = 0.4, double sigma = 0.05, double minVoltage = 0.52) =>
        new(new JsonObject
        {
            ["schema"] = DeviceProfile.Schema,
            ["name"] = "test-sram",
            ["technology"] = "sram",
            ["provenance"] = new JsonObject { ["source"] = "unit test", ["method"] = "hand-set" },
            ["geometry"] = new JsonObject { ["blocks"] = blocks, ["rows"] = rows, ["bitsPerRow"] = bitsPerRow },
            ["nominal"] = new JsonObject { ["voltage"] = 1.0, ["temperature"] = 25.0 },
            ["range"] = new JsonObject { ["voltage"] = new JsonArray(minVoltage, 1.0), ["temperature"] = new JsonArray(0.0, 85.0) },
            ["cells"] = new JsonObject { ["mean"] = mean, ["sigma"] = sigma },
            ["polarity"] = new JsonObject { ["mode"] = "flip" },
            ["chipSeed"] = 1,
        });

    /// <summary>
    /// A DRAM of 64 x 64 x 256 bits read in 64-bit words (1 Mbit), critical tRCD Normal(6.6 ns, 0.6 ns), 1.2 V and 13.5 ns
    /// nominal, ranges V [1.1, 1.2], tRCD [9, 13.5], T [25, 65], flip polarity, no heterogeneity.
    /// </summary>
    public static ProfileJson Dram(int blocks = 64, int rows = 64, int bitsPerRow = 256, int wordBits = 64) =>
        new(new JsonObject
        {
            ["schema"] = DeviceProfile.Schema,
            ["name"] = "test-dram",
            ["technology"] = "dram",
            ["provenance"] = new JsonObject { ["source"] = "unit test", ["method"] = "hand-set" },
            ["geometry"] = new JsonObject { ["blocks"] = blocks, ["rows"] = rows, ["bitsPerRow"] = bitsPerRow, ["wordBits"] = wordBits },
            ["nominal"] = new JsonObject { ["voltage"] = 1.2, ["tRCD"] = 13.5, ["temperature"] = 25.0 },
            ["range"] = new JsonObject { ["voltage"] = new JsonArray(1.1, 1.2), ["tRCD"] = new JsonArray(9.0, 13.5), ["temperature"] = new JsonArray(25.0, 65.0) },
            ["cells"] = new JsonObject { ["mean"] = 6.6, ["sigma"] = 0.6, ["temperatureCoefficient"] = 0.0015, ["voltageSensitivity"] = 1.5 },
            ["polarity"] = new JsonObject { ["mode"] = "flip" },
            ["chipSeed"] = 1,
        });

    /// <summary>
    /// <see cref="Sram"/> with heterogeneity: block offsets Normal(0, 0.01 V), 1% weak bitlines (+0.03 V) and 1% weak
    /// wordlines (+0.02 V).
    /// </summary>
    public static ProfileJson SramHeterogeneous() => Sram()
        .Set("blockOffsets", new JsonObject { ["distribution"] = "normal", ["sigma"] = 0.01 })
        .Set("weakBitlines", new JsonObject { ["fraction"] = 0.01, ["strength"] = 0.03 })
        .Set("weakWordlines", new JsonObject { ["fraction"] = 0.01, ["strength"] = 0.02 });

    public static ProfileJson FromText(string json) => new((JsonNode.Parse(json) as JsonObject)!);

    public static ProfileJson FromFile(string path) => FromText(File.ReadAllText(path));

    /// <summary>Sets a field by dotted path ("cells.sigma"), creating objects on the way.</summary>
    public ProfileJson Set(string path, JsonNode? value)
    {
        var keys = path.Split('.');
        var o = _root;
        foreach (var key in keys[..^1])
        {
            if (o[key] is not JsonObject child) o[key] = child = new JsonObject();
            o = child;
        }
        o[keys[^1]] = value;
        return this;
    }

    public ProfileJson Remove(string path)
    {
        var keys = path.Split('.');
        var o = _root;
        foreach (var key in keys[..^1]) o = (JsonObject)o[key]!;
        o.Remove(keys[^1]);
        return this;
    }

    public string Json => _root.ToJsonString();

    public DeviceProfile Parse(string origin = "test-profile.json") => DeviceProfile.Parse(Json, origin);
}
