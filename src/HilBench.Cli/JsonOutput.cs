using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

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

    /// <summary>
    /// The same rule for serialized records (the study's results.json and its per-model files): a non-finite double is written
    /// as null, and null reads back as NaN.
    /// </summary>
    public sealed class FiniteOrNull : JsonConverter<double>
    {
        public override bool HandleNull => true;

        public override double Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.Null ? double.NaN : reader.GetDouble();

        public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options)
        {
            if (double.IsFinite(value)) writer.WriteNumberValue(value);
            else writer.WriteNullValue();
        }
    }

    public static JsonObject Entries(IReadOnlyDictionary<string, string> entries)
    {
        var o = new JsonObject();
        foreach (var (key, value) in entries) o[key] = value;
        return o;
    }
}
