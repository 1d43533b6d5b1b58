using HilBench.Memory.Geometry;
using HilBench.Memory.Images;

namespace HilBench.Memory.Backends;

/// <summary>
/// Replays fault maps recorded earlier (by a board or the emulator): a load at an operating point applies
/// the recorded faults of that point. A point recorded without trial numbers is persistent (every trial gets
/// the same faults); with trial numbers, trial k must have been recorded.
/// </summary>
public sealed class ReplayBackend : IMemoryBackend
{
    private readonly StoredImage _stored;
    private readonly Func<WeightImage, Placement> _place;
    private Placement? _placement;

    public ReplayBackend(FaultMap map, Func<WeightImage, Placement>? placement = null)
    {
        Map = map;
        _place = placement ?? (image => Placement.Create(image.Layout, map.Geometry));
        _stored = new StoredImage(Name);
    }

    public FaultMap Map { get; }

    public string Name => $"replayed fault map{(Map.Description != "" ? " " + Map.Description : "")}";

    public BackendTraits Traits => new(Persistent: Map.Reads.All(r => r.Trial is null), Slow: false, MeasuresOperatingPoint: false, ReportsEnergy: false);

    public MemoryGeometry? Geometry => Map.Geometry;

    public void Store(WeightImage image, CancellationToken cancel = default)
    {
        var placement = _place(image);
        if (placement.Geometry != Map.Geometry) throw new ArgumentException($"the placement is for geometry {placement.Geometry}, but the fault map is {Map.Geometry}");
        _stored.Set(image);
        _placement = placement;
    }

    public MemoryReadout Load(LoadRequest request, CancellationToken cancel = default)
    {
        var stored = _stored.Get();
        if (request.PartitionPoints.Count > 0)
            throw new MemoryBackendException("a replayed fault map has one operating point per read; per-partition points cannot be replayed");
        var atPoint = Map.Reads.Where(r => r.Point.SameAs(request.Point)).ToArray();
        if (atPoint.Length == 0)
            throw new MemoryBackendException($"the fault map has no read at {request.Point}; it has {string.Join(", ", Map.Points.Select(p => p.ToString()))}");
        var read = atPoint.FirstOrDefault(r => r.Trial is null) ?? atPoint.FirstOrDefault(r => r.Trial == request.Trial)
            ?? throw new MemoryBackendException($"the fault map has {atPoint.Length} reads at {request.Point} (trials {string.Join(", ", atPoint.Select(r => r.Trial))}), not trial {request.Trial}; use fewer trials");
        var faults = new List<Fault>();
        foreach (var f in read.Faults)
        {
            long cell = Map.Geometry.Cell(f.Block, f.Row, f.Bit);
            long bit = _placement!.ImageBitOf(cell);
            if (bit < 0) continue;
            bool value = stored[bit], now = f.Read ?? !value;
            if (now == value) continue;
            faults.Add(new Fault(bit, cell, value, now));
        }
        faults.Sort((a, b) => a.ImageBit.CompareTo(b.ImageBit));
        return new MemoryReadout(stored, faults, request) { Geometry = Map.Geometry };
    }

    public void Dispose() { }
}
