using HilBench.Bnn.Layers;

namespace HilBench.Metrics.Margins;

/// <summary>
/// Where each position of a 3x3 conv's input map reads: its in-map taps, how many terms they make, and the patch bits they
/// occupy. Out-of-map taps are zero padding and contribute no term. Shared by the flip counts and the accuracy prediction.
/// </summary>
internal sealed class ConvTaps
{
    public ConvTaps(BinaryConv2d conv)
    {
        var s = conv.InputShape;
        Positions = s.Height * s.Width;
        PatchWords = conv.Weights.WordsPerRow;
        Taps = new (int Tap, int Source)[Positions][];
        ValidTerms = new int[Positions];
        ValidMask = new ulong[Positions * PatchWords];
        for (int y = 0; y < s.Height; y++)
            for (int x = 0; x < s.Width; x++)
            {
                int p = y * s.Width + x;
                var taps = new List<(int, int)>();
                for (int kh = 0; kh < 3; kh++)
                    for (int kw = 0; kw < 3; kw++)
                    {
                        int iy = y + kh - 1, ix = x + kw - 1;
                        if ((uint)iy >= (uint)s.Height || (uint)ix >= (uint)s.Width) continue; // zero padding: no term
                        int tap = kh * 3 + kw;
                        taps.Add((tap, iy * s.Width + ix));
                        for (int c = 0; c < s.Channels; c++)
                        {
                            int bit = tap * s.Channels + c;
                            ValidMask[p * PatchWords + (bit >> 6)] |= 1UL << (bit & 63);
                        }
                    }
                Taps[p] = taps.ToArray();
                ValidTerms[p] = taps.Count * s.Channels;
            }
    }

    public int Positions { get; }

    public int PatchWords { get; }

    /// <summary>Per position, its in-map taps (index kh*3+kw) and the input position each reads.</summary>
    public (int Tap, int Source)[][] Taps { get; }

    /// <summary>Per position, the number of terms: in-map taps times input channels (the fan-in away from the border).</summary>
    public int[] ValidTerms { get; }

    /// <summary>Per position, the patch words with the bits of the in-map taps set.</summary>
    public ulong[] ValidMask { get; }
}
