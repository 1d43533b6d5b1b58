using System.CommandLine;
using System.Globalization;
using System.Numerics;
using System.Text.Json.Nodes;
using HilBench.Memory.Profiles;

namespace HilBench.Cli.Commands;

/// <summary><c>hilbench profile predict</c>: what a device profile expects at an operating point, from the model alone (no emulation).</summary>
public static class ProfileCommand
{
    public static Command Create(CliContext context)
    {
        var profile = new Option<string>("--profile") { Description = "device profile JSON", HelpName = "FILE", Required = true };
        var op = new Option<string?>("--op") { Description = "operating point, e.g. \"V=0.55\" (missing fields: nominal)", HelpName = "POINT" };
        var pattern = new Option<string?>("--pattern") { Description = "stored data as a repeated hex word, e.g. 0xFFFF (default: random data, half ones)", HelpName = "HEX" };
        var json = CliOptions.Json();
        var predict = new Command("predict", "Expected bit error rate, failing-cell share, top-10% block share and energy saving of a profile at an operating point.")
        {
            profile, op, pattern, json,
        };
        predict.SetAction(r => CliErrors.Guard(context, () =>
        {
            var p = DeviceProfile.Load(r.GetRequiredValue(profile));
            var point = r.GetValue(op) is { } text ? p.ParsePoint(text) : p.Check(p.Nominal);
            double ones = r.GetValue(pattern) is { } hex ? OnesShare(hex) : 0.5;
            var model = p.Model;
            double failing = model.FailureProbability(point), ber = model.ExpectedBer(point, ones), top10 = model.Top10BlockShare(point);
            var saving = model.EnergySaving(point);
            if (r.GetValue(json))
            {
                JsonOutput.Write(context, new JsonObject
                {
                    ["profile"] = p.Name,
                    ["op"] = point.ToString(),
                    ["ones_share"] = ones,
                    ["ber"] = ber,
                    ["failing_cell_share"] = failing,
                    ["expected_faults"] = failing * p.Geometry.TotalBits,
                    ["top10_block_share"] = top10,
                    ["energy_saving"] = saving,
                });
                return CliErrors.Success;
            }
            var o = context.Out;
            o.WriteLine($"profile         {p.Name} ({p.Technology.ToString().ToUpperInvariant()}, {p.Geometry}, {Formatting.Count(p.Geometry.TotalBits)} bits)");
            o.WriteLine($"operating point {point}");
            o.WriteLine($"failing cells   {failing.ToString("G3", CultureInfo.InvariantCulture)} ({(failing * p.Geometry.TotalBits).ToString("G4", CultureInfo.InvariantCulture)} expected on the device)");
            o.WriteLine($"bit error rate  {ber.ToString("G3", CultureInfo.InvariantCulture)} for data with {Formatting.Percent(ones)} ones");
            o.WriteLine($"top 10% blocks  hold {Formatting.Percent(top10)} of the faults");
            if (saving is { } s) o.WriteLine($"energy saved    {Formatting.Percent(s)} of the nominal read energy");
            return CliErrors.Success;
        }));
        return new Command("profile", "Inspect device profiles.") { predict };
    }

    /// <summary>Share of one bits in a repeated hex word such as 0xFFFF or 0xAAAA.</summary>
    public static double OnesShare(string hex)
    {
        string digits = hex.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? hex[2..] : hex;
        if (digits.Length is 0 or > 16 || !ulong.TryParse(digits, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong v))
            throw new CliException($"--pattern '{hex}' is not a hex word of up to 64 bits, e.g. 0xFFFF or 0x5555");
        return (double)BitOperations.PopCount(v) / (digits.Length * 4);
    }
}
