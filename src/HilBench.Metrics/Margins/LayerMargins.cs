namespace HilBench.Metrics.Margins;

/// <summary>How the flips-to-change figures of a layer were obtained.</summary>
public enum FlipCountMethod
{
    /// <summary>The exact minimum number of weight flips in the neuron's row, tie rule included.</summary>
    Exact,

    /// <summary>
    /// Conv block with max pooling: counted as if the neuron were a dense neuron at the window position
    /// that attains the pooled maximum (the smallest count when several positions tie). Shared weights
    /// and the other three positions of the window are ignored, so this is an approximation.
    /// </summary>
    PooledConvApproximation,

    /// <summary>Not computed: the first block reads pixels and no images were given.</summary>
    NotComputed,
}

/// <summary>
/// The neuron-level margin statistics of one hidden block (see <see cref="NeuronLevelMetric"/>). A sample is
/// one (image, position, neuron) triple: for conv blocks every spatial position after pooling counts once.
/// All d/n figures use n = the block's fan-in (<see cref="FanIn"/>, also at conv borders).
/// </summary>
/// <param name="Block">Index of the block in <c>BnnModel.Blocks</c>.</param>
/// <param name="Neurons">Output channels (neurons) of the block.</param>
/// <param name="FanIn">n: weights per neuron (<c>WeightLayer.FanIn</c>).</param>
/// <param name="Samples">Images x positions x neurons.</param>
/// <param name="Mean">NL: mean of d/n over all samples, with d = |a - T|.</param>
/// <param name="Median">Median of d/n (quantile type 7, i.e. linear interpolation between order statistics).</param>
/// <param name="Quantile5">5 % quantile of d/n (type 7).</param>
/// <param name="HistogramEdges">bins + 1 equal-width edges over [0, max d/n] ([0, 1/n] when every margin is 0).</param>
/// <param name="HistogramCounts">Samples per bin; bin i holds edges[i] &lt;= d/n &lt; edges[i+1], the last bin is closed.</param>
/// <param name="MeanFlipsToChange">Mean over the samples whose output some flips can change (NaN when not computed or none can).</param>
/// <param name="MedianFlipsToChange">Median (type 7) over the same samples.</param>
/// <param name="UnreachableSamples">Samples whose output no set of flips in the neuron's row can change; excluded from the flip figures.</param>
/// <param name="FlipMethod">Whether the flip counts are exact, the pooled-conv approximation, or absent.</param>
/// <param name="NeuronMeans">Mean d/n of each neuron over its samples.</param>
public sealed record LayerMargins(
    int Block,
    int Neurons,
    int FanIn,
    long Samples,
    double Mean,
    double Median,
    double Quantile5,
    double[] HistogramEdges,
    long[] HistogramCounts,
    double MeanFlipsToChange,
    double MedianFlipsToChange,
    long UnreachableSamples,
    FlipCountMethod FlipMethod,
    double[] NeuronMeans);
