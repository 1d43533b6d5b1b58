using System.Numerics;
using HilBench.Bnn.Tensors;

namespace HilBench.Bnn.Kernels;

/// <summary>
/// Exact zero padding for binarized convolutions. Packed bits cannot hold 0, so out-of-map taps are
/// gathered as bit 0 (-1) and the XOR-popcount sum then includes -sum_c w[o,tap,c] for each of them.
/// Adding back sum_c w[o,tap,c] for every padded tap leaves the sum over valid taps only. Positions
/// share one of at most 16 border patterns, so the corrections are computed once per pattern.
/// </summary>
internal sealed class ConvBorder
{
    private readonly int[]?[] _perPosition;

    public ConvBorder(BitMatrix weights, int height, int width, int channels)
    {
        int outs = weights.Rows;
        // tapSum[o, t] = sum over channels of the +-1 weights of tap t.
        var tapSum = new int[outs, 9];
        for (int o = 0; o < outs; o++)
            for (int t = 0; t < 9; t++)
            {
                int s = 0;
                for (int c = 0; c < channels; c++) s += weights[o, t * channels + c] ? 1 : -1;
                tapSum[o, t] = s;
            }
        var byPattern = new Dictionary<int, int[]>();
        _perPosition = new int[]?[height * width];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int pattern = 0;
                for (int kh = 0; kh < 3; kh++)
                    for (int kw = 0; kw < 3; kw++)
                    {
                        int iy = y + kh - 1, ix = x + kw - 1;
                        if ((uint)iy >= (uint)height || (uint)ix >= (uint)width) pattern |= 1 << (kh * 3 + kw);
                    }
                if (pattern == 0) continue;
                if (!byPattern.TryGetValue(pattern, out var corr))
                {
                    corr = new int[outs];
                    for (int o = 0; o < outs; o++)
                        for (int t = 0; t < 9; t++)
                            if ((pattern >> t & 1) != 0) corr[o] += tapSum[o, t];
                    byPattern[pattern] = corr;
                }
                _perPosition[y * width + x] = corr;
            }
    }

    /// <summary>Corrects the pre-activations of one image (positions x outputs, channels last).</summary>
    public void Apply(Span<int> a, int outs)
    {
        for (int p = 0; p < _perPosition.Length; p++)
        {
            var corr = _perPosition[p];
            if (corr is null) continue;
            var row = a.Slice(p * outs, outs);
            int o = 0;
            for (; o + Vector<int>.Count <= outs; o += Vector<int>.Count)
                (new Vector<int>(row[o..]) + new Vector<int>(corr, o)).CopyTo(row[o..]);
            for (; o < outs; o++) row[o] += corr[o];
        }
    }
}
