using System.Text.Json;
using System.Text.Json.Nodes;

namespace HilBench.Cli;

/// <summary>The <c>--json</c> output: one indented JSON object on standard output, snake_case keys, nothing else.</summary>
public static class JsonOutput
{
    // Relaxed escaping: text such as "chips 1+k" stays readable ('+' would otherwise become \u002B); the output is not embedded in HTML.
    public static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

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
