namespace HilBench.Metrics.Margins;

/// <summary>
/// Counts of non-negative integer values (margins d, flip counts), from which exact quantiles and
/// histograms follow without keeping the samples: a layer of VGG3 has over 10^8 of them.
/// Values up to the dense limit are counted in an array, larger ones (thresholds far outside the
/// reachable range) in a dictionary, so every figure stays exact.
/// </summary>
internal sealed class IntegerDistribution
{
    private const long DenseLimit = 1 << 22;
    private readonly long[] _dense;
    private readonly Dictionary<long, long> _sparse = new();

    /// <param name="expectedMax">Largest value expected; values above the dense limit go to the dictionary anyway.</param>
    public IntegerDistribution(long expectedMax) => _dense = new long[Math.Clamp(expectedMax, 0, DenseLimit - 1) + 1];

    public long Count { get; private set; }

    public long Sum { get; private set; }

    public long Max { get; private set; }

    public void Add(long value, long times = 1)
    {
        if (times == 0) return;
        ArgumentOutOfRangeException.ThrowIfNegative(value);
        if (value < _dense.Length) _dense[value] += times;
        else _sparse[value] = _sparse.GetValueOrDefault(value) + times;
        Count += times;
        Sum += value * times;
        if (value > Max) Max = value;
    }

    public void AddRange(IntegerDistribution other)
    {
        foreach (var (value, times) in other.Entries()) Add(value, times);
    }

    /// <summary>(value, count) pairs in increasing value order, only values that occur.</summary>
    public IEnumerable<(long Value, long Count)> Entries()
    {
        for (int v = 0; v < _dense.Length; v++)
            if (_dense[v] != 0) yield return (v, _dense[v]);
        foreach (var v in _sparse.Keys.Order()) yield return (v, _sparse[v]);
    }

    public double Mean => Count == 0 ? double.NaN : (double)Sum / Count;

    /// <summary>
    /// Quantile type 7 (R's and NumPy's default): with the sorted values x_0..x_{N-1} and h = (N-1)q,
    /// x_floor(h) + (h - floor(h)) (x_floor(h)+1 - x_floor(h)). NaN when empty.
    /// </summary>
    public double Quantile(double q)
    {
        if (Count == 0) return double.NaN;
        double h = (Count - 1) * q;
        long lo = (long)Math.Floor(h);
        double frac = h - lo;
        long xLo = ValueAtRank(lo);
        if (frac == 0) return xLo;
        long xHi = ValueAtRank(lo + 1);
        return xLo + frac * (xHi - xLo);
    }

    /// <summary>The value at 0-based position <paramref name="rank"/> of the sorted samples.</summary>
    public long ValueAtRank(long rank)
    {
        long seen = 0;
        foreach (var (value, times) in Entries())
        {
            seen += times;
            if (rank < seen) return value;
        }
        throw new ArgumentOutOfRangeException(nameof(rank));
    }

    /// <summary>
    /// Counts per bin of value/<paramref name="scale"/> over [0, max/scale] in <paramref name="bins"/> equal bins
    /// (the upper edge is 1/scale when every value is 0). The bin is found in integers, so it is exact:
    /// value v goes to floor(v * bins / max), the maximum to the last bin.
    /// </summary>
    public (double[] Edges, long[] Counts) Histogram(int bins, double scale)
    {
        long top = Math.Max(Max, 1);
        var edges = new double[bins + 1];
        for (int i = 0; i <= bins; i++) edges[i] = top * (double)i / bins / scale;
        var counts = new long[bins];
        foreach (var (value, times) in Entries())
        {
            long bin = (long)(value * (Int128)bins / top);
            counts[Math.Min(bin, bins - 1)] += times;
        }
        return (edges, counts);
    }
}
