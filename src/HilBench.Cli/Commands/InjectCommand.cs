using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using HilBench.Bnn.Model;
using HilBench.Memory.Backends;
using HilBench.Memory.Images;

namespace HilBench.Cli.Commands;

/// <summary><c>hilbench inject</c>: store a model's weights in a memory, read them back once, and write the fault list.</summary>
public static class InjectCommand
{
    public const string Header = "image_bit,block,kind,row,column,cell,mem_block,mem_row,mem_bit,stored,read";

    public static Command Create(CliContext context)
    {
        var model = CliOptions.Model("model file (.hbnn) whose weights are stored");
        var memory = new MemoryOptions();
        var trial = CliOptions.Integer("--trial", "which seeded pattern (uniform BER) or chip SEED+trial (--profile) to draw", 0, 0);
        var seed = CliOptions.Integer("--seed", "seed of the patterns (uniform BER) or of the first chip (--profile)", 1, int.MinValue);
        var faults = new Option<string>("--faults") { Description = "CSV file for the fault list, one wrong bit per row", HelpName = "CSV", Required = true };
        var faultMap = new Option<string?>("--fault-map") { Description = "also write the faults as a HilBench fault map (cells and read values at the operating point), for --replay", HelpName = "FILE" };
        var json = CliOptions.Json("the summary");
        var command = new Command("inject", "Store a model's weights in a memory (uniform BER or a device profile at an operating point), read them back once, and write the fault list.")
        {
            model, trial, seed, faults, faultMap, json,
        };
        foreach (var o in memory.All()) command.Options.Add(o);
        command.Validators.Add(r => memory.Validate(r, required: true));
        command.SetAction(r => CliErrors.Guard(context, () =>
        {
            var m = ModelFile.Load(r.GetRequiredValue(model));
            using var errors = memory.Resolve(r, r.GetValue(seed), 0)!;
            var image = WeightImage.FromModel(m, errors.ThresholdsInMemory);
            var readout = errors.Load(image, r.GetValue(trial));
            string path = Write(r.GetRequiredValue(faults), readout);
            if (r.GetValue(faultMap) is { } mapPath) WriteMap(mapPath, readout, errors);
            var perRegion = image.Layout.Regions.Select(reg => (reg.Name, reg.Length, Faults: readout.Faults.Count(f => f.ImageBit >= reg.Offset && f.ImageBit < reg.End))).ToArray();
            if (r.GetValue(json))
            {
                JsonOutput.Write(context, new JsonObject
                {
                    ["errors"] = errors.Description,
                    ["operating_point"] = errors.HasOperatingPoints ? errors.Point.ToString() : null,
                    ["trial"] = r.GetValue(trial),
                    ["image_bits"] = image.BitCount,
                    ["faults"] = readout.Faults.Count,
                    ["bit_error_rate"] = readout.BitErrorRate,
                    ["flips_0_to_1"] = readout.Faults.Count(f => f.Read),
                    ["flips_1_to_0"] = readout.Faults.Count(f => !f.Read),
                    ["energy_saving"] = readout.EnergySaving,
                    ["per_region"] = new JsonArray(perRegion.Select(p => (JsonNode?)new JsonObject { ["region"] = p.Name, ["bits"] = p.Length, ["faults"] = p.Faults }).ToArray()),
                    ["faults_file"] = path,
                });
                return CliErrors.Success;
            }
            var o = context.Out;
            o.WriteLine($"memory    {errors.Description}, trial {r.GetValue(trial)}");
            o.WriteLine($"faults    {Formatting.Count(readout.Faults.Count)} of {Formatting.Count(image.BitCount)} bits (BER {readout.BitErrorRate:G3}): " +
                        $"{Formatting.Count(readout.Faults.Count(f => f.Read))} read 0->1, {Formatting.Count(readout.Faults.Count(f => !f.Read))} read 1->0");
            if (readout.EnergySaving is { } saving) o.WriteLine($"energy    {Formatting.Percent(saving)} of the nominal read energy saved");
            o.Flush();
            var table = Formatting.Table("region", ">bits", ">faults", ">BER");
            foreach (var (name, bits, count) in perRegion)
                Formatting.Row(table, name, Formatting.Count(bits), Formatting.Count(count), ((double)count / bits).ToString("G3", CultureInfo.InvariantCulture));
            context.Console.Write(table);
            o.WriteLine($"wrote {Formatting.DisplayPath(path)}");
            return CliErrors.Success;
        }));
        return command;
    }

    /// <summary>One row per wrong bit: where it is in the model and (for emulated memories) in the memory.</summary>
    private static string Write(string path, MemoryReadout readout)
    {
        var layout = readout.Image.Layout;
        return OutputFiles.WriteText(path, w =>
        {
            w.WriteLine(Header);
            foreach (var f in readout.Faults)
            {
                var at = layout.Locate(f.ImageBit);
                string kind = at.Region.Kind == RegionKind.Weights ? "weights" : "thresholds";
                w.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{f.ImageBit},{at.Region.Block},{kind},{at.Row},{at.Column},{Cell(readout, f)},{(f.Stored ? 1 : 0)},{(f.Read ? 1 : 0)}"));
            }
        });
    }

    /// <summary>
    /// The load's faults as a fault map at its operating point: one read that stands for every trial. Only cells that gave a
    /// wrong bit are in it; a failing cell that happened to hold its stuck value cannot be seen in one readback.
    /// </summary>
    private static void WriteMap(string path, MemoryReadout readout, MemoryErrors errors)
    {
        if (readout.Geometry is not { } g)
            throw new CliException("--fault-map needs a memory with a geometry (--profile or --replay); a uniform BER has no cells to record");
        var faults = readout.Faults.Select(f => { var a = g.Address(f.Cell); return new RecordedFault(a.Block, a.Row, a.Bit, f.Read); }).ToArray();
        var map = new FaultMap(g, [new RecordedRead(errors.Point, null, faults)], errors.Description);
        OutputFiles.WriteText(path, map.Save);
    }

    private static string Cell(MemoryReadout readout, Fault f)
    {
        if (readout.Geometry is not { } g) return ",,,";
        var a = g.Address(f.Cell);
        return string.Create(CultureInfo.InvariantCulture, $"{f.Cell},{a.Block},{a.Row},{a.Bit}");
    }
}
