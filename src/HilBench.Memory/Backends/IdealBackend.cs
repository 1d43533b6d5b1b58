using HilBench.Memory.Geometry;
using HilBench.Memory.Images;

namespace HilBench.Memory.Backends;

/// <summary>A perfect memory: every load returns exactly what was stored. The baseline of every study.</summary>
public sealed class IdealBackend : IMemoryBackend
{
    private readonly StoredImage _stored = new("ideal memory");

    public string Name => "ideal memory";

    public BackendTraits Traits { get; } = new(Persistent: true, Slow: false, MeasuresOperatingPoint: false, ReportsEnergy: false);

    public MemoryGeometry? Geometry => null;

    public void Store(WeightImage image, CancellationToken cancel = default) => _stored.Set(image);

    public MemoryReadout Load(LoadRequest request, CancellationToken cancel = default) => new(_stored.Get(), [], request);

    public void Dispose() { }
}
