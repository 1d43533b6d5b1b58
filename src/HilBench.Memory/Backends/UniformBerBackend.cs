using HilBench.Bnn.Errors;
using HilBench.Memory.Geometry;
using HilBench.Memory.Images;

namespace HilBench.Memory.Backends;

/// <summary>
/// The literature's error model: every stored bit is wrong independently, with a symmetric rate p or with
/// p01 / p10 by stored value. Not persistent: trial k of a seed is a fresh pattern, the same on every
/// machine. The operating point is ignored. Over the weights it draws exactly the patterns of
/// <see cref="ErrorInjection.Corrupt"/> with <see cref="ErrorInjection.TrialRandom"/>.
/// </summary>
public sealed class UniformBerBackend(UniformBitErrors errors, int seed) : IMemoryBackend
{
    private readonly StoredImage _stored = new("uniform BER memory");

    public UniformBerBackend(double p, int seed) : this(new UniformBitErrors(p), seed) { }

    public UniformBitErrors Errors { get; } = errors;

    public int Seed { get; } = seed;

    public string Name => $"{Errors} (seed {Seed})";

    public BackendTraits Traits { get; } = new(Persistent: false, Slow: false, MeasuresOperatingPoint: false, ReportsEnergy: false);

    public MemoryGeometry? Geometry => null;

    public void Store(WeightImage image, CancellationToken cancel = default) => _stored.Set(image);

    public MemoryReadout Load(LoadRequest request, CancellationToken cancel = default)
    {
        var stored = _stored.Get();
        // Sized for the expected count (plus 5 sigma), so a 5% BER on megabits does not regrow a large list.
        double expected = stored.BitCount * Math.Max(Errors.P01, Errors.P10);
        var faults = new List<Fault>((int)Math.Min(int.MaxValue / 2, expected + 5 * Math.Sqrt(expected) + 16));
        var random = ErrorInjection.TrialRandom(Seed, request.Trial);
        // Positions only grow, so every draw reads a bit no earlier draw has touched: the stored value.
        foreach (var region in stored.Layout.Regions)
        {
            long start = region.Offset;
            Errors.Inject(region.Length, i => stored[start + i], (i, value) => faults.Add(new Fault(start + i, start + i, !value, value)), random);
        }
        return new MemoryReadout(stored, faults, request);
    }

    public void Dispose() { }
}
