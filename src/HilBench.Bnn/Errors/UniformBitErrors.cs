using HilBench.Bnn.Tensors;

namespace HilBench.Bnn.Errors;

/// <summary>
/// Independent bit errors at a fixed rate: symmetric (every weight bit flips with probability p) or
/// asymmetric by stored value (a stored 0 reads as 1 with p01, a stored 1 as 0 with p10), as FeFET and
/// retention studies model them. Positions are drawn by geometric skipping, so the cost grows with the
/// number of flips, not the number of bits.
/// </summary>
public sealed class UniformBitErrors : IWeightErrorSource
{
    public UniformBitErrors(double p) : this(p, p) { }

    public UniformBitErrors(double p01, double p10)
    {
        Check(p01, nameof(p01));
        Check(p10, nameof(p10));
        P01 = p01;
        P10 = p10;
    }

    /// <summary>Probability that a stored 0 (weight -1) reads as 1.</summary>
    public double P01 { get; }

    /// <summary>Probability that a stored 1 (weight +1) reads as 0.</summary>
    public double P10 { get; }

    public bool IsSymmetric => P01 == P10;

    public override string ToString() => IsSymmetric ? $"uniform BER {P01:G4}" : $"uniform BER 0->1 {P01:G4}, 1->0 {P10:G4}";

    public long Inject(BitMatrix weights, int block, Random random)
    {
        var target = new MatrixBits(weights);
        return Draw(weights.BitCount, ref target, random);
    }

    /// <summary>
    /// Flips bits <paramref name="offset"/> .. <paramref name="offset"/> + <paramref name="bits"/> - 1 of a packed bit array in
    /// place (bit i is bit i % 64 of word i / 64); returns how many flipped. The draws are the same as for a matrix of the same bits.
    /// </summary>
    public long Inject(Span<ulong> packed, long offset, long bits, Random random)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (bits < 0 || offset + bits > 64L * packed.Length) throw new ArgumentOutOfRangeException(nameof(bits), bits, "the range runs past the packed bits");
        var target = new WordBits(packed, offset);
        return Draw(bits, ref target, random);
    }

    /// <summary>
    /// Draws errors over any bit sequence of length <paramref name="bits"/>: <paramref name="read"/> gives the
    /// stored bit i, <paramref name="write"/> stores the wrong value. Both are called only for candidates, so
    /// the cost grows with the number of errors. The draws are the same as for a matrix of the same bits.
    /// </summary>
    public long Inject(long bits, Func<long, bool> read, Action<long, bool> write, Random random)
    {
        var target = new DelegateBits(read, write);
        return Draw(bits, ref target, random);
    }

    /// <summary>Where the draws land. Targets are structs, so the draw loop is compiled for each without calls through delegates.</summary>
    private interface IBits
    {
        bool Read(long i);
        void Flip(long i, bool stored);
    }

    private readonly struct MatrixBits(BitMatrix weights) : IBits
    {
        private readonly int _columns = weights.Columns;

        public bool Read(long i) => weights[(int)(i / _columns), (int)(i % _columns)];

        public void Flip(long i, bool stored) => weights[(int)(i / _columns), (int)(i % _columns)] = !stored;
    }

    private readonly ref struct WordBits(Span<ulong> words, long offset) : IBits
    {
        private readonly Span<ulong> _words = words;

        public bool Read(long i) => (_words[(int)((offset + i) >> 6)] >> (int)((offset + i) & 63) & 1) != 0;

        public void Flip(long i, bool stored) => _words[(int)((offset + i) >> 6)] ^= 1UL << (int)((offset + i) & 63);
    }

    private readonly struct DelegateBits(Func<long, bool> read, Action<long, bool> write) : IBits
    {
        public bool Read(long i) => read(i);

        public void Flip(long i, bool stored) => write(i, !stored);
    }

    private long Draw<T>(long bits, ref T target, Random random) where T : IBits, allows ref struct
    {
        double pMax = Math.Max(P01, P10);
        if (pMax == 0) return 0;
        long flipped = 0;
        // Candidates at rate pMax, each kept with probability p(stored bit) / pMax: exactly rate p per stored value.
        bool thin = P01 != P10;
        double logKeep = Math.Log(1 - pMax);
        for (long i = NextGap(random, pMax, logKeep); i < bits; i += 1 + NextGap(random, pMax, logKeep))
        {
            bool stored = target.Read(i);
            if (thin && random.NextDouble() * pMax >= (stored ? P10 : P01)) continue;
            target.Flip(i, stored);
            flipped++;
        }
        return flipped;
    }

    /// <summary>Number of bits skipped before the next candidate: geometric with success probability p.</summary>
    private static long NextGap(Random random, double p, double logKeep)
    {
        if (p >= 1) return 0;
        double u = 1 - random.NextDouble(); // in (0, 1]
        double gap = Math.Floor(Math.Log(u) / logKeep);
        return gap >= long.MaxValue / 2 ? long.MaxValue / 2 : (long)gap;
    }

    private static void Check(double p, string name)
    {
        if (!(p >= 0 && p <= 1))
            throw new ArgumentOutOfRangeException(name, p, $"a bit error rate must be between 0 and 1 (got {p}); e.g. 0.01 for 1%");
    }
}
