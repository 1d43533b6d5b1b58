using System.Text.Json;
using System.Text.Json.Nodes;

namespace HilBench.Cli;

/// <summary>The <c>--json</c> output: one indented JSON object on standard output, snake_case keys, nothing else.</summary>
public static class JsonOutput
{
    public static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static void Write(CliContext context, JsonObject result) =>
        context.Out.WriteLine(result.ToJsonString(Indented));

    /// <summary>A number, or null when it is not finite (JSON has no NaN or infinity).</summary>
    public static JsonNode? Number(double value) => double.IsFinite(value) ? JsonValue.Create(value) : null;

    public static JsonObject Entries(IReadOnlyDictionary<string, string> entries)
    {
        var o = new JsonObject();
        foreach (var (key, value) in entries) o[key] = value;
        return o;
    }
}
