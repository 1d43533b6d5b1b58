using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using HilBench.Calibration.Fit;

namespace HilBench.Calibration.Report;

/// <summary>
/// The report directory of a calibration: report.md (parameters with standard errors, model selection, measured
/// vs fitted per point, held-out errors, findings), fit.json (one entry per operating point), and the figures
/// ber.png/.svg and blocks.png/.svg.
/// </summary>
public static class CalibrationReport
{
    public const string Markdown = "report.md";
    public const string FitJson = "fit.json";

    /// <summary>Writes the report into <paramref name="dir"/> (created if needed); returns the files written.</summary>
    public static IReadOnlyList<string> Write(CalibrationResult result, string dir)
    {
        Directory.CreateDirectory(dir);
        var files = new List<string>();
        string ber = CalibrationPlots.BerCurve(result, dir);
        files.Add(Path.Combine(dir, ber));
        files.Add(Path.Combine(dir, Path.ChangeExtension(ber, ".svg")));
        string? blocks = null;
        if (result.LowestVoltageBlocks is not null)
        {
            blocks = CalibrationPlots.BlockCounts(result, dir);
            files.Add(Path.Combine(dir, blocks));
            files.Add(Path.Combine(dir, Path.ChangeExtension(blocks, ".svg")));
        }
        File.WriteAllText(Path.Combine(dir, FitJson), FitJsonText(result) + Environment.NewLine);
        files.Add(Path.Combine(dir, FitJson));
        File.WriteAllText(Path.Combine(dir, Markdown), MarkdownText(result, ber, blocks));
        files.Add(Path.Combine(dir, Markdown));
        return files;
    }

    private static JsonNode? Num(double v) => double.IsFinite(v) ? JsonValue.Create(v) : null;

    public static string FitJsonText(CalibrationResult result)
    {
        var root = new JsonObject
        {
            ["profile"] = result.Profile.Name,
            ["geometry"] = result.Geometry.ToString(),
            ["heldout_voltages"] = new JsonArray(result.Options.HoldoutVoltages.Select(v => (JsonNode)JsonValue.Create(v)).ToArray()),
            ["heldout_max_factor"] = result.HeldoutFactor is { } f ? Num(f) : null,
            ["points"] = new JsonArray(result.Points.Select(p => (JsonNode)new JsonObject
            {
                ["op"] = p.Point.ToString(),
                ["voltage"] = p.Point.Voltage,
                ["trcd"] = p.Point.TRcdNs,
                ["temperature"] = p.Point.TemperatureC,
                ["heldout"] = p.Heldout,
                ["reads"] = p.Reads,
                ["bits"] = p.Bits,
                ["faults"] = p.Faults,
                ["faults_1to0"] = p.OneToZero,
                ["faults_0to1"] = p.ZeroToOne,
                ["measured_ber"] = p.MeasuredBer,
                ["measured_ber_low"] = Num(p.MeasuredLow),
                ["measured_ber_high"] = Num(p.MeasuredHigh),
                ["fitted_ber"] = Num(p.FittedBer),
                ["fitted_ber_low"] = Num(p.FittedLow),
                ["fitted_ber_high"] = Num(p.FittedHigh),
                ["expected_faults"] = Num(p.ExpectedFaults),
                ["ratio_fitted_to_measured"] = Num(p.Ratio),
                ["chi_square"] = Num(p.ChiSquare),
                ["deviance"] = Num(p.Deviance),
            }).ToArray()),
        };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    private static string G(double v, string format = "G4") =>
        !double.IsFinite(v) ? "-" : v.ToString(format == "E2" ? "0.00E+0" : format == "E3" ? "0.000E+0" : format, CultureInfo.InvariantCulture);

    private static string MarkdownText(CalibrationResult r, string berPng, string? blocksPng)
    {
        var sb = new StringBuilder();
        var p = r.Profile;
        sb.AppendLine($"# Calibration of `{p.Name}`");
        sb.AppendLine();
        sb.AppendLine($"{p.Technology.ToString().ToUpperInvariant()} memory {r.Geometry} (blocks x rows x bits per row), {r.Points.Count} operating points, " +
                      $"{r.Points.Sum(x => x.Reads)} reads; fitted {r.Date} in {r.Elapsed.TotalSeconds:F1} s.");
        sb.AppendLine();
        sb.AppendLine("## Inputs");
        sb.AppendLine();
        if (r.Inputs.Count == 0) sb.AppendLine("In-memory maps (no files).");
        else
        {
            sb.AppendLine("| file | role | bytes | SHA-256 |");
            sb.AppendLine("|---|---|---:|---|");
            foreach (var i in r.Inputs) sb.AppendLine($"| `{i.Path}` | {i.Role} | {i.Bytes} | `{i.Sha256}` |");
        }
        sb.AppendLine();
        sb.AppendLine("## Method");
        sb.AppendLine();
        sb.AppendLine(r.Method);
        sb.AppendLine();
        sb.AppendLine("## Parameters");
        sb.AppendLine();
        sb.AppendLine("| parameter | value | standard error | unit | |");
        sb.AppendLine("|---|---:|---:|---|---|");
        foreach (var x in r.Parameters)
            sb.AppendLine($"| `{x.Name}` | {G(x.Value, "G5")} | {G(x.StandardError, "G3")} | {x.Unit} | {(x.Fitted ? "fitted" : "not fitted")}{(x.Note != "" ? ": " + x.Note : "")} |");
        sb.AppendLine();
        sb.AppendLine("## Model selection (block offsets)");
        sb.AppendLine();
        sb.AppendLine("| model | parameters | log-likelihood | AIC | delta AIC | fit | |");
        sb.AppendLine("|---|---:|---:|---:|---:|---|---|");
        foreach (var m in r.Models)
            sb.AppendLine($"| {m.Name} | {m.ParameterCount} | {G(m.LogLikelihood, "F1")} | {G(m.Aic, "F1")} | {G(m.DeltaAic, "F1")} | {m.Parameters} | {(m.Selected ? "**selected**" : "")} |");
        sb.AppendLine();
        sb.AppendLine("## Measured vs fitted");
        sb.AppendLine();
        sb.AppendLine("Measured intervals are exact 95% Poisson intervals of the fault count; fitted intervals are where 95% of chips of this geometry, drawn from " +
                      "the fitted model, would land (cell and block-offset randomness). Chi-square is (measured - expected)^2 / variance, deviance the Poisson deviance.");
        sb.AppendLine();
        sb.AppendLine("| operating point | held out | reads | faults | 1->0 | 0->1 | measured BER [95%] | fitted BER [95%] | fitted/measured | chi-square | deviance |");
        sb.AppendLine("|---|---|---:|---:|---:|---:|---|---|---:|---:|---:|");
        foreach (var x in r.Points)
            sb.AppendLine($"| {x.Point} | {(x.Heldout ? "**yes**" : "")} | {x.Reads} | {x.Faults} | {x.OneToZero} | {x.ZeroToOne} | {G(x.MeasuredBer, "E2")} [{G(x.MeasuredLow, "E2")}, {G(x.MeasuredHigh, "E2")}] | " +
                          $"{G(x.FittedBer, "E2")} [{G(x.FittedLow, "E2")}, {G(x.FittedHigh, "E2")}] | {G(x.Ratio, "F3")} | {G(x.ChiSquare, "F2")} | {G(x.Deviance, "F2")} |");
        sb.AppendLine();
        var fitted = r.Points.Where(x => !x.Heldout).ToList();
        int df = Math.Max(0, fitted.Count - r.Parameters.Count(x => x.Fitted && x.StandardError is > 0));
        sb.AppendLine($"Goodness of fit over the {fitted.Count} fitted points: chi-square {G(fitted.Sum(x => x.ChiSquare), "F2")}, deviance {G(fitted.Sum(x => x.Deviance), "F2")} " +
                      $"(about {df} degrees of freedom after the curve parameters).");
        if (r.LowestVoltageBlocks is { } b)
            sb.AppendLine($"Faults per block at {b.Point}: chi-square {G(b.ChiSquare, "F2")} on {b.DegreesOfFreedom} df (p = {G(b.PValue, "G3")}), bins merged until each expects 5 blocks.");
        sb.AppendLine();
        sb.AppendLine("## Held-out check");
        sb.AppendLine();
        var held = r.Points.Where(x => x.Heldout).ToList();
        if (held.Count == 0) sb.AppendLine("No voltages were held out (pass holdout voltages to check the extrapolation).");
        else
        {
            sb.AppendLine($"Voltages {string.Join(", ", r.Options.HoldoutVoltages.Select(v => G(v)))} V were left out of every fit step and predicted afterwards:");
            sb.AppendLine();
            foreach (var x in held)
                sb.AppendLine($"- {x.Point}: measured {G(x.MeasuredBer, "E3")}, predicted {G(x.FittedBer, "E3")}, fitted/measured {G(x.Ratio, "F3")}" +
                              $"{(x.MeasuredBer >= x.FittedLow && x.MeasuredBer <= x.FittedHigh ? " (inside the 95% interval)" : " (outside the 95% interval)")}");
            sb.AppendLine();
            sb.AppendLine($"Largest prediction error: a factor of {G(r.HeldoutFactor ?? double.NaN, "F3")}.");
        }
        sb.AppendLine();
        sb.AppendLine("## Findings");
        sb.AppendLine();
        sb.AppendLine($"- Polarity: {r.Polarity.OneToZero} faults read 1->0, {r.Polarity.ZeroToOne} read 0->1; {r.Polarity.Note}.");
        sb.AppendLine($"- Nesting: {(double.IsNaN(r.Nesting.Share) ? "not checked" : $"{r.Nesting.Share:P2} of {r.Nesting.Faults} faults recur at every lower point of their sweep")}; {r.Nesting.Note}.");
        sb.AppendLine($"- Transient part: {r.Transient.Note}" + (r.Transient.Estimated && r.Transient.Share > 0
            ? $"; marginal share {G(r.Transient.Share)} +- {G(r.Transient.ShareError, "G2")}, per-read failure probability {G(r.Transient.ReadFailureProbability)} +- {G(r.Transient.ReadFailureError, "G2")}."
            : "."));
        foreach (var line in new[] { r.Bitlines, r.Wordlines })
            sb.AppendLine($"- Weak {line.Kind} (tested at {line.Point}, {line.Faults} faults on {line.Lines} lines; Pearson chi-square {G(line.PearsonChiSquare, "F1")} against {G(line.NullMean, "F0")} expected): " +
                          $"{line.Note}" + (line.Significant ? $"; strength {G(line.Strength)} {(p.Technology == Memory.Profiles.Technology.Sram ? "V" : "ns")}." : "."));
        foreach (var n in r.Notes) sb.AppendLine($"- {n}.");
        sb.AppendLine();
        sb.AppendLine("## Figures");
        sb.AppendLine();
        sb.AppendLine($"![bit error rate, measured and fitted]({berPng})");
        sb.AppendLine();
        sb.AppendLine("Bit error rate per operating point with 95% intervals on a log axis; held-out points are red diamonds, the line is the fitted model, the band its 95% interval for a chip of this size (SVG: " +
                      $"`{Path.ChangeExtension(berPng, ".svg")}`).");
        if (blocksPng is not null)
        {
            sb.AppendLine();
            sb.AppendLine($"![faults per block at the lowest voltage]({blocksPng})");
            sb.AppendLine();
            sb.AppendLine($"Faults per block at the lowest voltage, measured (bars) and expected under the fitted block offsets (line) (SVG: `{Path.ChangeExtension(blocksPng, ".svg")}`).");
        }
        return sb.ToString();
    }
}
