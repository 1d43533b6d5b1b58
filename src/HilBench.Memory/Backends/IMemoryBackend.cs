using HilBench.Memory.Geometry;
using HilBench.Memory.Images;

namespace HilBench.Memory.Backends;

/// <summary>What a backend is like, so callers can plan: a board is slow and persistent, a uniform BER is neither.</summary>
/// <param name="Persistent">The same (operating point) gives the same permanent faults on every load: one chip.</param>
/// <param name="Slow">A load takes long enough (serial link, real hardware) that callers should show progress and keep results.</param>
/// <param name="MeasuresOperatingPoint">Loads report the operating point as measured (telemetry), not just as requested.</param>
/// <param name="ReportsEnergy">Loads report the energy of reading the image.</param>
public sealed record BackendTraits(bool Persistent, bool Slow, bool MeasuresOperatingPoint, bool ReportsEnergy);

/// <summary>
/// One load: the operating point for the whole memory, optional per-partition points (by partition name),
/// and the Monte-Carlo trial, which selects the random part of the pattern (all of it for a uniform BER,
/// the transient part for a chip).
/// </summary>
public sealed record LoadRequest(OperatingPoint Point, int Trial = 0)
{
    public IReadOnlyDictionary<string, OperatingPoint> PartitionPoints { get; init; } = new Dictionary<string, OperatingPoint>();

    /// <summary>
    /// The point of each of the given partitions, in their order: its own point if the request names it, else
    /// <see cref="Point"/>. A partition point for a name not among them (a misspelt partition) is refused rather
    /// than silently running that partition at the global point.
    /// </summary>
    public OperatingPoint[] PointsFor(IReadOnlyList<string> partitions)
    {
        var unknown = PartitionPoints.Keys.Where(k => !partitions.Contains(k)).ToList();
        if (unknown.Count > 0)
            throw new OperatingPointException(
                $"the request sets the operating point of partition{(unknown.Count > 1 ? "s" : "")} {string.Join(", ", unknown.Select(k => $"'{k}'"))}, " +
                $"but the placement's partitions are {string.Join(", ", partitions.Select(k => $"'{k}'"))}; use one of those names (they are case-sensitive)");
        return partitions.Select(name => PartitionPoints.TryGetValue(name, out var p) ? p : Point).ToArray();
    }
}

/// <summary>One wrong bit: where it is in the image and in the memory, what was stored and what was read.</summary>
public readonly record struct Fault(long ImageBit, long Cell, bool Stored, bool Read);

/// <summary>
/// What came back from a load: the faults (sorted by image bit), the corrupted image they make of the
/// stored one, and what the backend measured. The corrupted image is built on first use; <see cref="CopyTo"/>
/// writes it into an image the caller reuses, so Monte-Carlo loops allocate nothing per trial.
/// </summary>
public sealed class MemoryReadout(WeightImage stored, IReadOnlyList<Fault> faults, LoadRequest request)
{
    private WeightImage? _image;

    public IReadOnlyList<Fault> Faults { get; } = faults;

    public LoadRequest Request { get; } = request;

    /// <summary>The image as read back: the stored image with every fault applied.</summary>
    public WeightImage Image => _image ??= CopyTo(new WeightImage(stored.Layout));

    public long BitCount => stored.BitCount;

    /// <summary>Writes the image as read back into <paramref name="target"/> (same layout) and returns it.</summary>
    public WeightImage CopyTo(WeightImage target)
    {
        target.CopyFrom(stored);
        foreach (var f in Faults) target[f.ImageBit] = f.Read;
        return target;
    }

    /// <summary>The memory's geometry, so <see cref="Fault.Cell"/> can be read as an address; null when the backend has none (then Cell is the image bit).</summary>
    public MemoryGeometry? Geometry { get; init; }

    /// <summary>The point the backend measured (a board's telemetry), or null when it only knows the request.</summary>
    public OperatingPoint? Measured { get; init; }

    /// <summary>Energy of reading the image once at the operating point, if the backend models or measures it.</summary>
    public double? EnergyJoules { get; init; }

    /// <summary>Energy of the same read at the nominal point, for the saving.</summary>
    public double? NominalEnergyJoules { get; init; }

    public double? EnergySaving => EnergyJoules is { } e && NominalEnergyJoules is { } n && n > 0 ? 1 - e / n : null;

    public double BitErrorRate => BitCount == 0 ? 0 : (double)Faults.Count / BitCount;
}

/// <summary>
/// A memory that holds a weight image: the only thing inference and metrics see. Store once, then load at an
/// operating point for trial k as often as needed; the result is deterministic in (backend configuration,
/// operating point, trial). Backends may be slow, may fail part-way (<see cref="MemoryBackendException"/>),
/// may measure their own operating point and energy, and may be persistent (same chip, same faults).
/// </summary>
public interface IMemoryBackend : IDisposable
{
    /// <summary>A short description for reports, e.g. "emulated SRAM bram-like (chip 1)".</summary>
    string Name { get; }

    BackendTraits Traits { get; }

    /// <summary>The memory's geometry, or null for backends without one (ideal, uniform BER).</summary>
    MemoryGeometry? Geometry { get; }

    /// <summary>Writes the image; replaces whatever was stored.</summary>
    void Store(WeightImage image, CancellationToken cancel = default);

    /// <summary>Reads the stored image back at an operating point; throws if nothing is stored.</summary>
    MemoryReadout Load(LoadRequest request, CancellationToken cancel = default);
}

/// <summary>A backend failed (lost link, board error, missing map); <see cref="Retryable"/> says whether trying again may help.</summary>
public sealed class MemoryBackendException(string message, bool retryable = false, Exception? inner = null) : Exception(message, inner)
{
    public bool Retryable { get; } = retryable;
}
