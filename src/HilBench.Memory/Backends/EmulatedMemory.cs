using HilBench.Memory.Emulation;
using HilBench.Memory.Geometry;
using HilBench.Memory.Images;
using HilBench.Memory.Profiles;

namespace HilBench.Memory.Backends;

/// <summary>
/// A memory emulated from a device profile: one chip (the profile's chip seed unless given) whose weak
/// cells fail below their critical value. Persistent and nested by construction; the transient part varies
/// with the trial. The image is placed on the profile's geometry by a <see cref="Placement"/> (contiguous
/// unless given), and each partition may run at its own operating point.
/// </summary>
public class EmulatedMemory : IMemoryBackend
{
    private readonly StoredImage _stored;
    private readonly Func<WeightImage, Placement> _place;
    private Placement? _placement;

    public EmulatedMemory(DeviceProfile profile, int? chipSeed = null, Func<WeightImage, Placement>? placement = null, int threads = 0)
    {
        Profile = profile;
        Chip = EmulatedChip.Generate(profile, chipSeed, threads);
        _place = placement ?? (image => Placement.Create(image.Layout, profile.Geometry));
        _stored = new StoredImage(Name);
    }

    /// <summary>The backend for the profile's technology: <see cref="EmulatedSram"/> or <see cref="EmulatedDram"/>.</summary>
    public static EmulatedMemory For(DeviceProfile profile, int? chipSeed = null, Func<WeightImage, Placement>? placement = null, int threads = 0) =>
        profile.Technology == Technology.Sram
            ? new EmulatedSram(profile, chipSeed, placement, threads)
            : new EmulatedDram(profile, chipSeed, placement, threads);

    public DeviceProfile Profile { get; }

    public EmulatedChip Chip { get; }

    /// <summary>Where the stored image sits; null before <see cref="Store"/>.</summary>
    public Placement? Placement => _placement;

    public string Name => $"emulated {(Profile.Technology == Technology.Sram ? "SRAM" : "DRAM")} {Profile.Name} (chip {Chip.Seed})";

    public BackendTraits Traits { get; } = new(Persistent: true, Slow: false, MeasuresOperatingPoint: false, ReportsEnergy: true);

    public MemoryGeometry Geometry => Profile.Geometry;

    MemoryGeometry? IMemoryBackend.Geometry => Geometry;

    public void Store(WeightImage image, CancellationToken cancel = default)
    {
        var placement = _place(image);
        if (placement.Geometry != Profile.Geometry)
            throw new ArgumentException($"the placement is for geometry {placement.Geometry}, but {Profile.Name} is {Profile.Geometry}");
        if (!placement.Layout.SameShape(image.Layout)) throw new ArgumentException("the placement was made for another image layout");
        _stored.Set(image);
        _placement = placement;
    }

    public MemoryReadout Load(LoadRequest request, CancellationToken cancel = default)
    {
        var stored = _stored.Get();
        var placement = _placement!;
        var point = Profile.Check(request.Point);
        var partitionPoints = request.PointsFor(placement.Partitions.Select(p => p.Name).ToList()).Select(Profile.Check).ToArray();
        var thresholds = partitionPoints.Select(Chip.Model.ThresholdAt).ToArray();
        var faults = new List<Fault>();
        foreach (var (bit, cell, weak, block) in Chip.FailingImageBits(placement, thresholds))
        {
            cancel.ThrowIfCancellationRequested();
            if (weak.Marginal && !Chip.FailsOnRead(request.Trial, block, weak.Offset)) continue;
            bool value = stored[bit];
            bool read = Profile.Polarity.Mode == FailureMode.Flip ? !value : weak.StuckValue;
            if (read != value) faults.Add(new Fault(bit, cell, value, read));
        }
        faults.Sort((a, b) => a.ImageBit.CompareTo(b.ImageBit));
        return new MemoryReadout(stored, faults, request)
        {
            Geometry = Profile.Geometry,
            EnergyJoules = request.PartitionPoints.Count == 0 ? Chip.Model.ReadEnergyJoules(point, stored.BitCount) : EnergyOf(placement, partitionPoints),
            NominalEnergyJoules = Chip.Model.ReadEnergyJoules(Profile.Nominal, stored.BitCount),
        };
    }

    /// <summary>Read energy with every partition at its own point, each partition's share of the bits at its voltage.</summary>
    private double? EnergyOf(Placement placement, OperatingPoint[] partitionPoints)
    {
        double total = 0;
        var perPartition = new long[placement.Partitions.Count];
        foreach (var r in placement.Layout.Regions)
        {
            int p = placement.Partitions.Select((s, i) => (s, i)).First(x => x.s.ModelBlocks.Contains(r.Block)).i;
            perPartition[p] += r.Length;
        }
        for (int p = 0; p < perPartition.Length; p++)
            if (Chip.Model.ReadEnergyJoules(partitionPoints[p], perPartition[p]) is { } e) total += e;
            else return null;
        return total;
    }

    public void Dispose() { }
}

/// <summary>An emulated SRAM (or FPGA BRAM): faults set by the supply voltage and temperature.</summary>
public sealed class EmulatedSram : EmulatedMemory
{
    public EmulatedSram(DeviceProfile profile, int? chipSeed = null, Func<WeightImage, Placement>? placement = null, int threads = 0)
        : base(Require(profile, Technology.Sram), chipSeed, placement, threads) { }

    internal static DeviceProfile Require(DeviceProfile profile, Technology technology) =>
        profile.Technology == technology ? profile
            : throw new ProfileException($"{profile.Origin}: {profile.Name} is a {profile.Technology.ToString().ToUpperInvariant()} profile, not {technology.ToString().ToUpperInvariant()}; use the matching backend");
}

/// <summary>An emulated DRAM: faults set by tRCD, the supply voltage (which stretches the critical tRCD) and temperature.</summary>
public sealed class EmulatedDram(DeviceProfile profile, int? chipSeed = null, Func<WeightImage, Placement>? placement = null, int threads = 0)
    : EmulatedMemory(EmulatedSram.Require(profile, Technology.Dram), chipSeed, placement, threads);
