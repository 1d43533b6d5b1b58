using System.Text.Json;
using System.Text.Json.Nodes;
using HilBench.Calibration.Fit;
using HilBench.Memory.Profiles;

namespace HilBench.Calibration.Report;

/// <summary>
/// Writes device profiles as JSON that <see cref="DeviceProfile.Load"/> reads back. A calibrated profile carries an
/// extra "calibration" section (input files with SHA-256, parameters with standard errors, model selection, fit
/// quality) that the profile reader ignores and people read.
/// </summary>
public static class ProfileWriter
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static void Save(CalibrationResult result, string path) => Write(path, result.ProfileJson);

    public static void Save(DeviceProfile profile, string path) => Write(path, profile.ToJson());

    internal static string Compose(DeviceProfile profile, JsonObject calibration)
    {
        var root = (JsonObject)JsonNode.Parse(profile.ToJson())!;
        root["calibration"] = calibration;
        return root.ToJsonString(Indented);
    }

    private static void Write(string path, string json)
    {
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        File.WriteAllText(path, json + Environment.NewLine);
    }
}
