namespace HilBench.Cli.Experiment;

/// <summary>
/// What decides an experiment's numbers; a model result computed under other settings is not reused. <see cref="Dataset"/> and
/// <see cref="DatasetHash"/> name the test images (directory, and a hash of the images and labels); <see cref="ProfileHash"/> is a
/// hash of the profile file's bytes, so an edited profile at the same path is measured anew. Importances measured on training images
/// (<see cref="ImportanceSplit"/>) carry a hash of those images, <see cref="ImportanceHash"/>.
/// </summary>
public sealed record ExperimentSettings(double[] Bers, int Trials, int Seed, int Images, int ImportanceImages, double PredictionBer,
    string? Profile, string? BaseOp, double[] Voltages, int Chips, string? Board = null,
    string? Dataset = null, string? DatasetHash = null, string? ProfileHash = null, string ImportanceSplit = CliOptions.TestSplit, string? ImportanceHash = null)
{
    /// <summary>What the operating-point sweep runs on, for reports: the profile's file name or the board's firmware.</summary>
    public string? SweepMemory => Board is { } b ? $"board {b}" : Profile is { } p ? Path.GetFileName(p) : null;

    /// <summary>
    /// The BERs the accuracy is predicted at: the measured ones nearest 1%, 5%, 10% and 20% (a propagation costs about as much as
    /// a few Monte-Carlo patterns, so not every point of a fine curve gets one).
    /// </summary>
    public IReadOnlySet<double> PredictedBers => new[] { 0.01, 0.05, 0.1, 0.2 }.Select(Nearest).Where(b => b > 0).ToHashSet();

    /// <summary>
    /// The one BER a conv model's accuracy is predicted at (its propagation costs about 20 Monte-Carlo patterns): the measured
    /// BER nearest <see cref="PredictionBer"/>; 0 when there is none.
    /// </summary>
    public double ConvPredictedBer => PredictionBer > 0 ? Nearest(PredictionBer) : 0;

    /// <summary>The measured nonzero BER nearest <paramref name="target"/> on a log scale (0 when none is measured).</summary>
    private double Nearest(double target) => Bers.Where(b => b > 0).OrderBy(b => Math.Abs(Math.Log(b / target))).FirstOrDefault();

    /// <summary>Bumped when what a model result holds changes, so results of an older HilBench are measured again.</summary>
    public const int ResultVersion = 5;

    /// <summary>A short fingerprint stored with every model result, compared on resume.</summary>
    public string Key() => string.Join("|", ResultVersion, string.Join(",", Bers.Select(b => b.ToString("R", System.Globalization.CultureInfo.InvariantCulture))),
        Trials, Seed, Images, ImportanceImages, PredictionBer.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        Profile ?? "", ProfileHash ?? "", BaseOp ?? "", string.Join(",", Voltages.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture))), Chips, Board ?? "",
        Dataset ?? "", DatasetHash ?? "") + (ImportanceSplit == CliOptions.TestSplit ? "" : $"|importances on {ImportanceSplit} {ImportanceHash}");
}

/// <summary>
/// One hidden block's metrics: margins (NL), flips to change (with how they were counted, <see cref="FlipMethod"/>, and the samples no
/// flips can change, left out of the mean), importances (IN, also with the sampling noise of the importances taken out, see
/// <c>LayerImportance</c>) and the predicted and measured flip fraction.
/// </summary>
public sealed record LayerResult(int Block, string Kind, int Neurons, int FanIn,
    double NlMean, double NlMedian, double NlQuantile5, double[] HistogramEdges, long[] HistogramCounts, double MeanFlipsToChange,
    string FlipMethod, long UnreachableSamples,
    double ImportanceMean, double ImportanceVariance, double ImportanceCv, double MarginImportanceVariance, double MarginImportanceCv,
    double ImportanceVarianceCorrected, double MarginImportanceVarianceCorrected,
    double? PredictedFlipFraction, double? MeasuredFlipFraction);

/// <summary>Accuracy at one BER: Monte-Carlo mean and 95% interval, and the layer-by-layer prediction where the model allows one.</summary>
public sealed record CurvePoint(double Ber, double Mean, double Low, double High, double? Predicted);

/// <summary>Accuracy and read-energy saving at one operating point of the profile.</summary>
public sealed record EnergyPoint(string Op, double Voltage, double Ber, double Mean, double Low, double High, double? Saving);

/// <summary>
/// Everything measured on one model. <see cref="File"/> is the model's full path and <see cref="ModelHash"/> a hash of its bytes:
/// a result is reused only for the same file with the same contents.
/// </summary>
public sealed record ModelResult(string Name, string File, string Architecture, string Group, double BftRate, string Loss,
    double CleanAccuracy, LayerResult[] Layers, CurvePoint[] Curve, double Auc, double MaxBerWithinOnePoint, EnergyPoint[] Energy,
    double Seconds, string SettingsKey, string ModelHash)
{
    /// <summary>Seconds spent per part of the measurement (margins, importance, tolerance, ...).</summary>
    public IReadOnlyDictionary<string, double> Phases { get; init; } = new Dictionary<string, double>();
}

/// <summary>
/// One correlation of the study, with its 95% intervals (NaN, written as null, for n &lt;= 3 and for |r| = 1) and the two-sided
/// p-value of Spearman's rho (exact over every ordering up to 9 models).
/// </summary>
public sealed record CorrelationRow(string Group, string Metric, string Tolerance, int N, double Pearson, double PearsonLow, double PearsonHigh,
    double Spearman, double SpearmanLow, double SpearmanHigh, double SpearmanP);
