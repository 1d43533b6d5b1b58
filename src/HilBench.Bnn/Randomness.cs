namespace HilBench.Bnn;

/// <summary>
/// Seeded random streams that are the same on every machine, process and thread count: stream n of a
/// seed is a SplitMix64 mix of the two (HashCode.Combine would change from process to process).
/// </summary>
public static class Randomness
{
    public static Random Derive(int seed, long stream)
    {
        ulong z = unchecked(((ulong)(uint)seed << 32 ^ (ulong)stream) + 0x9E3779B97F4A7C15UL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        z ^= z >> 31;
        return new Random((int)(z & int.MaxValue));
    }
}
