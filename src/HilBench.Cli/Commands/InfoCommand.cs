using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using HilBench.Bnn.Layers;
using HilBench.Bnn.Model;

namespace HilBench.Cli.Commands;

/// <summary><c>hilbench info</c>: what a model file holds: architecture, layers and shapes, weight bits, logit scale, metadata.</summary>
public static class InfoCommand
{
    public static Command Create(CliContext context)
    {
        var model = CliOptions.Model("model file (.hbnn) to describe");
        var json = CliOptions.Json("the description");
        var command = new Command("info", "Describe a model file: architecture, layers with shapes, weight bits, logit scale, metadata.")
        {
            model, json,
        };
        command.SetAction(r => CliErrors.Guard(context, () => Execute(context, r.GetRequiredValue(model), r.GetValue(json))));
        return command;
    }

    public static int Execute(CliContext context, string path, bool json)
    {
        var model = ModelFile.Load(path);
        string full = Path.GetFullPath(path);
        if (json) WriteJson(context, full, model);
        else WriteText(context, full, model);
        return CliErrors.Success;
    }

    private static string Weights(BnnLayer layer) => layer is WeightLayer w
        ? $"{w.Weights.Rows.ToString(CultureInfo.InvariantCulture)}x{w.Weights.Columns.ToString(CultureInfo.InvariantCulture)}"
        : "";

    private static void WriteJson(CliContext context, string path, BnnModel model)
    {
        var layers = new JsonArray();
        for (int i = 0; i < model.Layers.Count; i++)
        {
            var layer = model.Layers[i];
            var o = new JsonObject
            {
                ["index"] = i,
                ["kind"] = layer.Kind,
                ["input"] = layer.InputShape.ToString(),
                ["output"] = layer.OutputShape.ToString(),
            };
            if (layer is WeightLayer w)
            {
                o["rows"] = w.Weights.Rows;
                o["columns"] = w.Weights.Columns;
                o["weight_bits"] = w.Weights.BitCount;
            }
            layers.Add(o);
        }
        JsonOutput.Write(context, new JsonObject
        {
            ["model"] = path,
            ["architecture"] = model.Describe(),
            ["short_architecture"] = Formatting.ShortArchitecture(model),
            ["input"] = model.InputShape.ToString(),
            ["classes"] = model.Classes,
            ["weight_bits"] = model.WeightBits,
            ["logit_scale"] = model.LogitScale,
            ["layers"] = layers,
            ["metadata"] = new JsonObject
            {
                ["dataset"] = model.Metadata.Dataset,
                ["training"] = JsonOutput.Entries(model.Metadata.Training),
                ["extra"] = JsonOutput.Entries(model.Metadata.Extra),
            },
        });
    }

    private static void WriteText(CliContext context, string path, BnnModel model)
    {
        var o = context.Out;
        o.WriteLine($"model         {Formatting.DisplayPath(path)}");
        o.WriteLine($"architecture  {model.Describe()}");
        o.WriteLine($"input         {model.InputShape}, {model.Classes} classes");
        o.WriteLine($"weight bits   {Formatting.Count(model.WeightBits)} ({Formatting.Count((model.WeightBits + 7) / 8)} bytes packed)");
        o.WriteLine($"logit scale   {model.LogitScale.ToString("R", CultureInfo.InvariantCulture)}");
        o.Flush();

        var table = Formatting.Table(">#", "layer", ">input", ">output", ">weights", ">weight bits");
        for (int i = 0; i < model.Layers.Count; i++)
        {
            var layer = model.Layers[i];
            Formatting.Row(table, i.ToString(CultureInfo.InvariantCulture), layer.Kind, layer.InputShape.ToString(),
                layer.OutputShape.ToString(), Weights(layer), layer is WeightLayer w ? Formatting.Count(w.Weights.BitCount) : "");
        }
        context.Console.Write(table);

        var meta = model.Metadata;
        o.WriteLine($"dataset       {(meta.Dataset.Length > 0 ? meta.Dataset : "(none recorded)")}");
        WriteEntries(o, "training", meta.Training);
        WriteEntries(o, "extra", meta.Extra);
    }

    private static void WriteEntries(TextWriter o, string section, IReadOnlyDictionary<string, string> entries)
    {
        if (entries.Count == 0)
        {
            o.WriteLine($"{section,-13} (none)");
            return;
        }
        foreach (var (key, value) in entries) o.WriteLine($"{section,-13} {key} = {value}");
    }
}
