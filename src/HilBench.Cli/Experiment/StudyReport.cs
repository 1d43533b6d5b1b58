using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using HilBench.Metrics.Statistics;

namespace HilBench.Cli.Experiment;

/// <summary>Writes the study's outputs: CSV tables, results.json, the plots and report.md with a short reading of the results.</summary>
public static class StudyReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonOutput.FiniteOrNull() }, // NaN (no value, e.g. an interval of too few models) is null, as in --json
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static void Write(string dir, ExperimentSettings settings, IReadOnlyList<ModelResult> models, IReadOnlyList<CorrelationRow> correlations,
        double seconds)
    {
        Directory.CreateDirectory(dir);
        WriteCsv(dir, models, correlations);
        var results = new JsonObject
        {
            ["settings"] = JsonSerializer.SerializeToNode(settings, Json),
            ["seconds"] = seconds,
            ["models"] = JsonSerializer.SerializeToNode(models, Json),
            ["correlations"] = JsonSerializer.SerializeToNode(correlations, Json),
        };
        OutputFiles.WriteText(Path.Combine(dir, "results.json"), w => w.Write(results.ToJsonString(Json)));
        OutputFiles.WriteText(Path.Combine(dir, "report.md"), w => w.Write(Markdown(dir, settings, models, correlations, seconds)));
    }

    private static string F(double v, string format = "G4") => double.IsFinite(v) ? v.ToString(format, Inv) : "";

    /// <summary>A CSV field, quoted (RFC 4180) when it holds a comma, a quote or a line break, as metric names like "NL mean, block 0" do.</summary>
    internal static string Csv(string field) =>
        field.IndexOfAny([',', '"', '\n', '\r']) < 0 ? field : "\"" + field.Replace("\"", "\"\"") + "\"";

    private static string P(double v) => double.IsFinite(v) ? (v * 100).ToString("F1", Inv) : "-";

    private static void WriteCsv(string dir, IReadOnlyList<ModelResult> models, IReadOnlyList<CorrelationRow> correlations)
    {
        OutputFiles.WriteText(Path.Combine(dir, "models.csv"), w =>
        {
            w.WriteLine("model,group,architecture,bft,loss,clean_accuracy,auc,max_ber_within_1pt,nl_mean_avg,in_variance_avg,in_variance_corrected_avg,in_cv_avg,seconds");
            foreach (var m in models)
                w.WriteLine(string.Join(",", Csv(m.Name), m.Group, m.Architecture, F(m.BftRate), m.Loss, F(m.CleanAccuracy), F(m.Auc), F(m.MaxBerWithinOnePoint),
                    F(StudyAnalysis.AveragedNl(m)), F(StudyAnalysis.AveragedIn(m)), F(StudyAnalysis.AveragedInCorrected(m)),
                    F(m.Layers.Average(l => l.ImportanceCv)), F(m.Seconds, "F1")));
        });
        OutputFiles.WriteText(Path.Combine(dir, "tolerance.csv"), w =>
        {
            w.WriteLine("model,ber,accuracy_mean,accuracy_ci95_low,accuracy_ci95_high,predicted_accuracy");
            foreach (var m in models)
                foreach (var p in m.Curve)
                    w.WriteLine(string.Join(",", Csv(m.Name), F(p.Ber), F(p.Mean), F(p.Low), F(p.High), p.Predicted is { } x ? F(x) : ""));
        });
        OutputFiles.WriteText(Path.Combine(dir, "layers.csv"), w =>
        {
            w.WriteLine("model,block,kind,neurons,fan_in,nl_mean,nl_median,nl_q05,mean_flips_to_change,flip_method,unreachable_samples,importance_mean,importance_variance,importance_variance_corrected,importance_cv,margin_importance_variance,margin_importance_variance_corrected,margin_importance_cv,predicted_flip_fraction,measured_flip_fraction");
            foreach (var m in models)
                foreach (var l in m.Layers)
                    w.WriteLine(string.Join(",", Csv(m.Name), l.Block, l.Kind, l.Neurons, l.FanIn, F(l.NlMean), F(l.NlMedian), F(l.NlQuantile5), F(l.MeanFlipsToChange), l.FlipMethod, l.UnreachableSamples,
                        F(l.ImportanceMean), F(l.ImportanceVariance), F(l.ImportanceVarianceCorrected), F(l.ImportanceCv),
                        F(l.MarginImportanceVariance), F(l.MarginImportanceVarianceCorrected), F(l.MarginImportanceCv),
                        l.PredictedFlipFraction is { } a ? F(a) : "", l.MeasuredFlipFraction is { } b ? F(b) : ""));
        });
        OutputFiles.WriteText(Path.Combine(dir, "energy.csv"), w =>
        {
            w.WriteLine("model,op,voltage,ber,accuracy_mean,accuracy_ci95_low,accuracy_ci95_high,energy_saving");
            foreach (var m in models)
                foreach (var e in m.Energy)
                    w.WriteLine(string.Join(",", Csv(m.Name), e.Op.Replace(',', ';'), F(e.Voltage), F(e.Ber), F(e.Mean), F(e.Low), F(e.High), e.Saving is { } s ? F(s) : ""));
        });
        OutputFiles.WriteText(Path.Combine(dir, "correlations.csv"), w =>
        {
            w.WriteLine("group,metric,tolerance,n,pearson,pearson_low,pearson_high,spearman,spearman_low,spearman_high,spearman_p");
            foreach (var c in correlations)
                w.WriteLine(string.Join(",", Csv(c.Group), Csv(c.Metric), Csv(c.Tolerance), c.N, F(c.Pearson), F(c.PearsonLow), F(c.PearsonHigh), F(c.Spearman), F(c.SpearmanLow), F(c.SpearmanHigh),
                    F(c.SpearmanP)));
        });
    }

    private static string Markdown(string dir, ExperimentSettings s, IReadOnlyList<ModelResult> models, IReadOnlyList<CorrelationRow> correlations, double seconds)
    {
        var md = new StringBuilder();
        md.AppendLine("# Bit error tolerance study").AppendLine();
        md.AppendLine($"{models.Count} models, {s.Images:N0} test images, weight BERs {string.Join(", ", s.Bers.Select(b => b.ToString("G3", Inv)))} " +
                      $"with {s.Trials} seeded patterns each (seed {s.Seed}); importances on {s.ImportanceImages:N0} {(s.ImportanceSplit == CliOptions.TestSplit ? "test" : "training")} images; " +
                      $"flip fractions predicted and measured at BER {s.PredictionBer.ToString("G3", Inv)}" +
                      (s.SweepMemory is { } memory ? $"; operating points of `{memory}` at {string.Join(", ", s.Voltages.Select(v => v.ToString("G4", Inv)))} V, {s.Chips} {(s.Board is null ? "chips" : "reads")} each" : "") +
                      $". Measuring took {models.Sum(m => m.Seconds) / 60:F1} min (this run {seconds / 60:F1} min; models measured by an earlier, interrupted run are kept). " +
                      "Numbers: `results.json` and the CSV files beside this report.").AppendLine();

        var phases = models.SelectMany(m => m.Phases).GroupBy(p => p.Key).Select(g => $"{g.Key} {g.Sum(p => p.Value) / 60:F1} min").ToArray();
        if (phases.Length > 0) md.AppendLine($"Time by part, over all models: {string.Join(", ", phases)}.").AppendLine();

        md.AppendLine("| model | BFT | loss | clean | AUC | max BER within 1 pt | NL (avg) | IN variance (avg) | noise-corrected (avg) | IN cv (avg) |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|---|");
        foreach (var m in models)
            md.AppendLine($"| {m.Name} | {(double.IsFinite(m.BftRate) ? P(m.BftRate) + " %" : "-")} | {m.Loss} | {P(m.CleanAccuracy)} % | {F(m.Auc, "F3")} | {F(m.MaxBerWithinOnePoint, "G3")} | " +
                          $"{F(StudyAnalysis.AveragedNl(m), "F4")} | {F(StudyAnalysis.AveragedIn(m), "G3")} | " +
                          $"{F(StudyAnalysis.AveragedInCorrected(m), "G3")} | {F(m.Layers.Average(l => l.ImportanceCv), "F2")} |");
        md.AppendLine();
        md.AppendLine("BFT: the symmetric bit flip rate the model was trained with; '-' for a model trained against a device profile or with " +
                      "unequal rates, which is compared only in its architecture's all-models group. " +
                      "AUC: area under the accuracy-vs-BER curve over the measured BERs, divided by clean accuracy times the BER span (1 = no loss). " +
                      "Max BER within 1 pt: the largest measured BER up to which the mean accuracy stays within one point of clean. " +
                      "NL: mean normalised margin d/n, averaged over the hidden layers (the pixel layer's divided by 255, its largest input, so that every layer is on the same 0..1 scale). IN: variance (and coefficient of variation) of the neuron importances " +
                      "(accuracy drop when a neuron's output is inverted for every input). Noise-corrected: IN minus the part of it that the " +
                      "finite evaluation set adds, since each importance is a mean over the images and carries sampling noise; it estimates the variance " +
                      "the importances would have on unlimited data, and is negative where the neurons are equally important within that noise. " +
                      "Flips to change (layers.csv): the mean number of weight flips that change a neuron's output, over the samples some flips can " +
                      "change (unreachable_samples counts the others); flip_method says how it was counted: exact, or pooled_conv_approximation for " +
                      "conv blocks with pooling (counted at the window position that attains the maximum, ignoring the other positions).").AppendLine();

        foreach (var group in models.GroupBy(m => m.Group).OrderBy(g => g.Key))
        {
            var members = group.OrderBy(m => m.Loss).ThenBy(m => m.BftRate).ToArray();
            md.AppendLine($"## {group.Key}").AppendLine();
            string curve = Plots.AccuracyVsBer(dir, $"accuracy_vs_ber_{group.Key}", $"{group.Key}: accuracy under weight bit errors", members);
            md.AppendLine($"![accuracy vs BER, {group.Key}]({curve})").AppendLine();
            int last = members[0].Layers[^1].Block;
            if (members.All(m => m.Layers.Any(l => l.Block == last)))
            {
                string hist = Plots.MarginHistograms(dir, $"nl_histogram_{group.Key}", $"{group.Key}: margins of block {last}",
                    members.Select(m => { var l = m.Layers.First(x => x.Block == last); return (m.Name, l.HistogramEdges, l.HistogramCounts); }).ToArray());
                md.AppendLine($"![NL histograms, {group.Key}]({hist})").AppendLine();
            }
            md.AppendLine(Trends(members)).AppendLine();
            if (members.Any(m => m.Energy.Length > 0))
            {
                string energy = Plots.AccuracyVsEnergy(dir, $"accuracy_vs_energy_{group.Key}", $"{group.Key}: accuracy vs read energy saved", members);
                md.AppendLine($"![accuracy vs energy, {group.Key}]({energy})").AppendLine();
                md.AppendLine(EnergyTable(members)).AppendLine();
            }
            md.AppendLine(PredictionTable(members)).AppendLine();
        }

        md.AppendLine("## Metrics against tolerance").AppendLine();
        md.AppendLine("Pearson and Spearman correlation across the models of a group, with 95% intervals (Fisher z; for Spearman the Bonett-Wright standard error) " +
                      $"and the two-sided p-value of Spearman's rho (exact over every ordering of the models up to {Correlations.ExactSpearmanMaxN} models, " +
                      "a t approximation beyond). With a handful of models the intervals are wide: read the sign and the size together with them. " +
                      "Where a coefficient is +-1 no interval is given: the Fisher interval collapses to the point [1, 1] there, which is the method's " +
                      "limit, not certainty (a perfect order of 5 models happens by chance with p = 2/120 = 0.017); the p-value says how unusual it is. " +
                      "No interval either with 3 models or fewer.").AppendLine();
        md.AppendLine("| group | metric | tolerance | n | Spearman (95%) | p | Pearson (95%) |");
        md.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var c in correlations)
            md.AppendLine($"| {c.Group} | {c.Metric} | {c.Tolerance} | {c.N} | {F(c.Spearman, "F2")}{Interval(c.SpearmanLow, c.SpearmanHigh)} | {F(c.SpearmanP, "G2")} | " +
                          $"{F(c.Pearson, "F2")}{Interval(c.PearsonLow, c.PearsonHigh)} |");
        md.AppendLine();
        foreach (var (group, members) in StudyAnalysis.Groups(models))
            foreach (var (metric, get) in StudyAnalysis.MetricsOf(members, perBlock: false).Take(3))
            {
                var row = correlations.FirstOrDefault(c => c.Group == group && c.Metric == metric && c.Tolerance == StudyAnalysis.Auc);
                if (row is null) continue;
                string file = Plots.Scatter(dir, $"scatter_{group.Replace(' ', '_')}_{ScatterName(metric)}_auc", metric, StudyAnalysis.Auc,
                    members.Select(m => (m.Name, get(m), m.Auc)).ToArray(), row.Spearman, row.Pearson);
                md.AppendLine($"![{metric} vs AUC, {group}]({file})").AppendLine();
            }
        md.AppendLine(Reading(correlations)).AppendLine();
        return md.ToString();
    }

    /// <summary>" (low..high)", or nothing where there is no interval (too few models, or a coefficient of +-1).</summary>
    private static string Interval(double low, double high) => double.IsFinite(low) && double.IsFinite(high) ? $" ({F(low, "F2")}..{F(high, "F2")})" : "";

    private static string ScatterName(string metric) => metric switch
    {
        StudyAnalysis.NlAveraged => "nl",
        StudyAnalysis.InAveraged => "in",
        StudyAnalysis.InCorrectedAveraged => "in_corrected",
        _ => throw new ArgumentOutOfRangeException(nameof(metric), metric, "no scatter plot for this metric"),
    };

    /// <summary>Does NL rise and IN variance (raw and noise-corrected) fall with the BFT rate (the BFT family only)? Exceptions are named.</summary>
    private static string Trends(ModelResult[] members)
    {
        var bft = members.Where(StudyAnalysis.InBftFamily).OrderBy(m => m.BftRate).ToArray();
        if (bft.Length < 2) return "";
        var text = new StringBuilder();
        text.Append($"With the BFT rate ({string.Join(" -> ", bft.Select(m => P(m.BftRate) + " %"))}): ");
        text.Append("NL " + Monotone(bft, StudyAnalysis.AveragedNl, rising: true, "F4"));
        text.Append("; IN variance " + Monotone(bft, StudyAnalysis.AveragedIn, rising: false, "G3"));
        text.Append("; noise-corrected IN variance " + Monotone(bft, StudyAnalysis.AveragedInCorrected, rising: false, "G3"));
        text.Append('.');
        var noiseShare = bft.Select(m => 1 - StudyAnalysis.AveragedInCorrected(m) / StudyAnalysis.AveragedIn(m))
            .Where(double.IsFinite).ToArray();
        if (noiseShare.Length > 0)
            text.Append($" The estimated sampling noise of the importances is {P(noiseShare.Min())} to {P(noiseShare.Max())} % of these models' raw IN variance " +
                        "(over 100 % where the corrected variance is negative).");
        return text.ToString();
    }

    private static string Monotone(ModelResult[] ordered, Func<ModelResult, double> get, bool rising, string format)
    {
        var values = ordered.Select(get).ToArray();
        var breaks = new List<string>();
        for (int i = 1; i < values.Length; i++)
            if (rising ? values[i] <= values[i - 1] : values[i] >= values[i - 1])
                breaks.Add($"{ordered[i - 1].Name} -> {ordered[i].Name}");
        string series = string.Join(", ", values.Select(v => F(v, format)));
        return breaks.Count == 0
            ? $"{(rising ? "rises" : "falls")} at every step ({series})"
            : $"does not {(rising ? "rise" : "fall")} at every step ({series}; exception{(breaks.Count > 1 ? "s" : "")}: {string.Join(", ", breaks)})";
    }

    private static string PredictionTable(ModelResult[] members)
    {
        if (!members.Any(m => m.Curve.Any(p => p.Ber > 0 && p.Predicted is not null))) return "";
        var md = new StringBuilder();
        md.AppendLine("Predicted accuracy (layer-by-layer propagation of flip probabilities, no Monte-Carlo) against the Monte-Carlo mean, in points:").AppendLine();
        var bers = members[0].Curve.Where(p => p.Ber > 0 && members.Any(m => m.Curve.Any(q => q.Ber == p.Ber && q.Predicted is not null))).Select(p => p.Ber).ToArray();
        md.AppendLine("| model | " + string.Join(" | ", bers.Select(b => $"BER {b.ToString("G3", Inv)}")) + " | mean abs error |");
        md.AppendLine("|---|" + string.Concat(bers.Select(_ => "---|")) + "---|");
        foreach (var m in members)
        {
            var cells = m.Curve.Where(p => bers.Contains(p.Ber)).Select(p => p.Predicted is { } x ? $"{P(x)} vs {P(p.Mean)}" : "-").ToArray();
            var errors = m.Curve.Where(p => p.Ber > 0 && p.Predicted is not null).Select(p => Math.Abs(p.Predicted!.Value - p.Mean) * 100).ToArray();
            md.AppendLine($"| {m.Name} | {string.Join(" | ", cells)} | {(errors.Length > 0 ? errors.Average().ToString("F1", Inv) : "-")} |");
        }
        var flips = members.SelectMany(m => m.Layers.Where(l => l.PredictedFlipFraction is not null).Select(l => (m, l))).ToArray();
        if (flips.Length > 0)
        {
            md.AppendLine().AppendLine("Share of a layer's outputs flipped by weight errors in that layer alone, exact inputs: predicted vs measured:").AppendLine();
            md.AppendLine("| model | block | predicted | measured |");
            md.AppendLine("|---|---|---|---|");
            foreach (var (m, l) in flips)
                md.AppendLine($"| {m.Name} | {l.Block} | {F(l.PredictedFlipFraction!.Value, "F4")} | {F(l.MeasuredFlipFraction ?? double.NaN, "F4")} |");
        }
        return md.ToString();
    }

    private static string EnergyTable(ModelResult[] members)
    {
        var md = new StringBuilder();
        var ops = members.First(m => m.Energy.Length > 0).Energy.Select(e => e.Op).ToArray();
        md.AppendLine("| model | " + string.Join(" | ", ops) + " |");
        md.AppendLine("|---|" + string.Concat(ops.Select(_ => "---|")));
        foreach (var m in members.Where(m => m.Energy.Length > 0))
            md.AppendLine($"| {m.Name} | " + string.Join(" | ", m.Energy.Select(e => $"{P(e.Mean)} % ({(e.Saving is { } s ? P(s) + " % saved" : "-")})")) + " |");
        return md.ToString();
    }

    /// <summary>The strongest and weakest relations, in words.</summary>
    private static string Reading(IReadOnlyList<CorrelationRow> correlations)
    {
        var usable = correlations.Where(c => double.IsFinite(c.Spearman)).ToArray();
        if (usable.Length == 0) return "Too few models per group for correlations (at least three are needed).";
        var md = new StringBuilder("Reading, per group:").AppendLine().AppendLine();
        foreach (var g in usable.GroupBy(c => c.Group))
        {
            var auc = g.Where(c => c.Tolerance == StudyAnalysis.Auc).ToArray();
            if (auc.Length == 0) continue;
            string Described(CorrelationRow c) =>
                $"{c.Metric} ({F(c.Spearman, "F2")}, p = {F(c.SpearmanP, "G2")}{(c.SpearmanP < 0.05 ? ", below 0.05" : ", not below 0.05")})";
            var strong = auc.Where(c => Math.Abs(c.Spearman) >= 0.8).Select(Described).ToArray();
            var weak = auc.Where(c => Math.Abs(c.Spearman) < 0.8).Select(Described).ToArray();
            md.Append($"- **{g.Key}**: |Spearman| >= 0.8 with the AUC for {(strong.Length > 0 ? string.Join(", ", strong) : "no metric")}");
            md.AppendLine(weak.Length > 0 ? $"; weaker for {string.Join(", ", weak)}." : ".");
        }
        return md.ToString().TrimEnd();
    }
}
