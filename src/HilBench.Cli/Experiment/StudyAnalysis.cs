using HilBench.Metrics.Statistics;

namespace HilBench.Cli.Experiment;

/// <summary>The cross-model side of the study: which metric goes with which tolerance summary, and how strongly.</summary>
public static class StudyAnalysis
{
    public const string Auc = "normalised AUC";
    public const string MaxBer = "max BER within 1 point";
    public const string NlAveraged = "NL mean (hidden layers averaged)";
    public const string InAveraged = "IN variance (hidden layers averaged)";
    public const string InCorrectedAveraged = "IN variance, noise-corrected (averaged)";

    /// <summary>
    /// A layer's NL on the scale of binary layers: d/n is at most 1 where inputs are +-1, but up to 255 for the pixel
    /// layer (block 0, 8-bit inputs), so its NL is divided by 255 before layers are averaged.
    /// </summary>
    public static double ScaledNl(LayerResult layer) => layer.Block == 0 ? layer.NlMean / 255 : layer.NlMean;

    public static double AveragedNl(ModelResult m) => m.Layers.Average(ScaledNl);

    /// <summary>IN variance averaged over the hidden layers.</summary>
    public static double AveragedIn(ModelResult m) => m.Layers.Average(l => l.ImportanceVariance);

    /// <summary>Noise-corrected IN variance averaged over the hidden layers.</summary>
    public static double AveragedInCorrected(ModelResult m) => m.Layers.Average(l => l.ImportanceVarianceCorrected);

    /// <summary>Metrics of a model by name: per hidden block (where every model of the group has that block) and averaged over hidden blocks.</summary>
    public static IReadOnlyList<(string Name, Func<ModelResult, double> Get)> MetricsOf(IReadOnlyList<ModelResult> models, bool perBlock)
    {
        var list = new List<(string, Func<ModelResult, double>)>
        {
            (NlAveraged, AveragedNl),
            (InAveraged, AveragedIn),
            (InCorrectedAveraged, AveragedInCorrected),
            ("IN coefficient of variation (averaged)", m => m.Layers.Average(l => l.ImportanceCv)),
            ("IN margin-drop variance (averaged)", m => m.Layers.Average(l => l.MarginImportanceVariance)),
        };
        if (perBlock && models.Count > 0)
        {
            var blocks = models.Select(m => m.Layers.Select(l => l.Block).ToHashSet()).Aggregate((a, b) => { a.IntersectWith(b); return a; });
            foreach (int b in blocks.Order())
            {
                list.Add(($"NL mean, block {b}", m => m.Layers.First(l => l.Block == b).NlMean));
                list.Add(($"IN variance, block {b}", m => m.Layers.First(l => l.Block == b).ImportanceVariance));
                list.Add(($"IN variance noise-corrected, block {b}", m => m.Layers.First(l => l.Block == b).ImportanceVarianceCorrected));
            }
        }
        return list;
    }

    public static IReadOnlyList<(string Name, Func<ModelResult, double> Get)> TolerancesOf(IReadOnlyList<ModelResult> models)
    {
        var list = new List<(string, Func<ModelResult, double>)> { (Auc, m => m.Auc), (MaxBer, m => m.MaxBerWithinOnePoint) };
        var bers = models.Count == 0 ? [] : models[0].Curve.Select(p => p.Ber).Where(b => b > 0).ToArray();
        if (bers.Length > 0)
        {
            double pick = bers.Contains(0.05) ? 0.05 : bers[bers.Length / 2];
            list.Add(($"accuracy at BER {pick:G3}", m => m.Curve.First(p => p.Ber == pick).Mean));
        }
        return list;
    }

    /// <summary>
    /// Whether a model belongs to its architecture's bit-flip-training family: cross-entropy loss and one symmetric BFT rate (0
    /// included). A model trained against a device profile or with unequal rates has no <see cref="ModelResult.BftRate"/> and is not.
    /// </summary>
    public static bool InBftFamily(ModelResult m) => m.Loss == "ce" && double.IsFinite(m.BftRate);

    /// <summary>
    /// The sets correlations are taken over: per architecture its bit-flip-training family (<see cref="InBftFamily"/>: models that
    /// differ only in the BFT rate), all its models when there are others too (other losses, profile or asymmetric training), and
    /// all models for the averaged metrics; each needs at least three models.
    /// </summary>
    public static IEnumerable<(string Group, ModelResult[] Models)> Groups(IReadOnlyList<ModelResult> models)
    {
        foreach (var g in models.GroupBy(m => m.Group).OrderBy(g => g.Key))
        {
            var family = g.Where(InBftFamily).OrderBy(m => m.BftRate).ToArray();
            if (family.Length >= 3) yield return ($"{g.Key} BFT family", family);
            if (g.Count() > family.Length && g.Count() >= 3) yield return ($"{g.Key} all models", g.OrderBy(m => m.Loss).ThenBy(m => m.BftRate).ToArray());
        }
        if (models.Select(m => m.Group).Distinct().Count() > 1 && models.Count >= 3) yield return ("all", models.ToArray());
    }

    public static List<CorrelationRow> Correlate(IReadOnlyList<ModelResult> models)
    {
        var rows = new List<CorrelationRow>();
        foreach (var (group, members) in Groups(models))
            foreach (var (metric, get) in MetricsOf(members, perBlock: members.Select(m => m.Group).Distinct().Count() == 1))
                foreach (var (tolerance, tol) in TolerancesOf(members))
                {
                    var c = Correlations.Compute(metric, tolerance, members.Select(get).ToArray(), members.Select(tol).ToArray());
                    rows.Add(new CorrelationRow(group, metric, tolerance, c.N, c.Pearson, c.PearsonLow, c.PearsonHigh, c.Spearman, c.SpearmanLow, c.SpearmanHigh, c.SpearmanP));
                }
        return rows;
    }
}
