using System.CommandLine;
using HilBench.Bnn.Errors;
using HilBench.Board;
using HilBench.Memory;
using HilBench.Memory.Backends;
using HilBench.Memory.Geometry;
using HilBench.Memory.Images;
using HilBench.Memory.Profiles;

namespace HilBench.Cli;

/// <summary>
/// The options that choose where the weights are stored (a uniform BER or a device profile at an operating
/// point), shared by eval, inject and sweep, and the <see cref="MemoryErrors"/> they describe.
/// </summary>
public sealed class MemoryOptions
{
    public Option<double?> Ber { get; } = CliOptions.Probability("--ber", "symmetric weight bit errors at this rate");
    public Option<double?> Ber01 { get; } = CliOptions.Probability("--ber-01", "asymmetric errors: rate at which a stored 0 (weight -1) reads as 1 (with --ber-10)");
    public Option<double?> Ber10 { get; } = CliOptions.Probability("--ber-10", "asymmetric errors: rate at which a stored 1 (weight +1) reads as 0 (with --ber-01)");
    public Option<string?> Profile { get; } = new("--profile") { Description = "device profile JSON (see calibration/profiles/): weights are stored in an emulated chip", HelpName = "FILE" };
    public Option<string?> Op { get; } = new("--op") { Description = "operating point for --profile, e.g. \"V=0.56\" or \"V=1.15,tRCD=10,T=45\" (missing fields: nominal)", HelpName = "POINT" };
    public Option<int?> Chip { get; } = new("--chip") { Description = "with --profile: use this one chip seed for every trial (trials then differ only in transient faults); default: trial k runs on chip SEED+k", HelpName = "SEED" };
    public Option<string> Placement { get; } = new Option<string>("--placement")
    {
        Description = "with --profile: how the image is laid over the memory blocks",
        HelpName = "contiguous|interleaved",
        DefaultValueFactory = _ => "contiguous",
    }.AcceptOnlyFromAmong("contiguous", "interleaved");
    public Option<string?> Replay { get; } = new("--replay") { Description = "replay a recorded fault map (docs/device-profile.md, e.g. from inject --fault-map or a board) at --op", HelpName = "MAP" };
    public Option<bool> Thresholds { get; } = new("--thresholds-in-memory") { Description = "store the hidden layers' thresholds in the memory too (16- or 32-bit words), not in error-free storage" };
    public BoardOptions Board { get; } = new();

    public IEnumerable<Option> All(bool withBer = true) => withBer
        ? [Ber, Ber01, Ber10, Profile, Replay, Op, Chip, Placement, Thresholds, .. Board.All]
        : [Profile, Op, Chip, Placement, Thresholds, .. Board.All];

    /// <summary>Checks that at most one error model is given and its parts fit together.</summary>
    public void Validate(System.CommandLine.Parsing.CommandResult r, bool required)
    {
        bool symmetric = r.GetResult(Ber) is not null, a01 = r.GetResult(Ber01) is not null, a10 = r.GetResult(Ber10) is not null;
        bool profile = r.GetResult(Profile) is not null, replay = r.GetResult(Replay) is not null;
        if (Board.Validate(r))
        {
            if (profile || replay || symmetric || a01 || a10 || r.GetResult(Chip) is not null)
                r.AddError("--backend board stores the weights on the board; leave out --ber, --profile, --replay and --chip.");
            return;
        }
        if (replay && (profile || symmetric || a01 || a10)) r.AddError("--replay replays recorded faults; leave out --ber and --profile.");
        if (replay && r.GetResult(Chip) is not null) r.AddError("--chip is for --profile; a fault map is one recorded chip.");
        if (replay) return;
        if (symmetric && (a01 || a10)) r.AddError("use either --ber or --ber-01/--ber-10, not both.");
        else if (a01 != a10) r.AddError("asymmetric errors need both --ber-01 and --ber-10.");
        if (profile && (symmetric || a01 || a10)) r.AddError("use either a uniform BER (--ber, --ber-01/--ber-10) or --profile, not both.");
        if (!profile && (r.GetResult(Op) is not null || r.GetResult(Chip) is not null)) r.AddError("--op needs --profile or --replay, and --chip needs --profile.");
        if (required && !profile && !symmetric && !a01) r.AddError("give the errors: --ber P, --ber-01 P --ber-10 Q, --profile FILE --op POINT, --replay MAP, or --backend board --port PATH --op POINT.");
    }

    /// <summary>The chosen errors, or null when none were asked for.</summary>
    public MemoryErrors? Resolve(ParseResult r, int seed, int threads)
    {
        var placementPolicy = r.GetValue(Placement) == "interleaved" ? PlacementPolicy.WordInterleaved : PlacementPolicy.Contiguous;
        if (Board.Open(r, placementPolicy) is { } board)
        {
            try
            {
                var point = r.GetValue(Op) is { } text ? OperatingPoint.Parse(text, board.Board.NominalPoint) : board.Board.NominalPoint;
                return MemoryErrors.OnBoard(board, point, r.GetValue(Thresholds));
            }
            catch
            {
                board.Dispose();
                throw;
            }
        }
        if (r.GetValue(Replay) is { } mapPath)
        {
            var map = FaultMap.Load(mapPath);
            var points = map.Points.ToArray();
            OperatingPoint point = r.GetValue(Op) is { } text ? OperatingPoint.Parse(text, points.Length > 0 ? points[0] : null)
                : points.Length == 1 ? points[0]
                : throw new CliException($"{mapPath} holds reads at {points.Length} operating points ({string.Join(", ", points.Select(q => q.ToString()))}); choose one with --op");
            return MemoryErrors.Replayed(map, Path.GetFileName(mapPath), point, placementPolicy, r.GetValue(Thresholds));
        }
        if (r.GetValue(Profile) is { } path)
        {
            var profile = DeviceProfile.Load(path);
            var point = r.GetValue(Op) is { } op ? profile.ParsePoint(op) : profile.Check(profile.Nominal);
            return MemoryErrors.Emulated(profile, point, seed, r.GetValue(Chip), placementPolicy, r.GetValue(Thresholds), threads);
        }
        UniformBitErrors? uniform = r.GetValue(Ber) is { } p ? new UniformBitErrors(p)
            : r.GetValue(Ber01) is { } a && r.GetValue(Ber10) is { } b ? new UniformBitErrors(a, b) : null;
        return uniform is null ? null : MemoryErrors.Uniform(uniform, seed, r.GetValue(Thresholds));
    }
}

/// <summary>
/// Where Monte-Carlo trials get their corrupted weights: one backend (uniform BER, or one fixed chip)
/// loaded with trial k, or one emulated chip per trial (chip SEED+k), each generated once and kept, so a
/// sweep sees the same chips at every operating point (persistent, nested faults).
/// </summary>
public sealed class MemoryErrors : IDisposable
{
    private readonly Func<int, IMemoryBackend> _create;
    private readonly Dictionary<int, IMemoryBackend> _backends = [];
    private readonly bool _perTrialBackend;
    private readonly Func<OperatingPoint, OperatingPoint> _check;

    private MemoryErrors(string description, OperatingPoint point, DeviceProfile? profile, bool thresholds, bool perTrialBackend, Func<int, IMemoryBackend> create,
        Func<OperatingPoint, OperatingPoint>? check = null)
    {
        Description = description;
        _check = check ?? (profile is null ? p => p : profile.Check);
        Point = point;
        Profile = profile;
        ThresholdsInMemory = thresholds;
        _perTrialBackend = perTrialBackend;
        _create = create;
    }

    public string Description { get; }

    /// <summary>The operating point loads use unless told otherwise (nominal for a uniform BER, where it does not matter).</summary>
    public OperatingPoint Point { get; }

    public DeviceProfile? Profile { get; }

    public bool ThresholdsInMemory { get; }

    /// <summary>True when the point is a voltage sweep's to choose: the memory has an operating point that matters (an emulated chip, a board).</summary>
    public bool HasOperatingPoints => Profile is not null || Board is not null;

    /// <summary>The board the weights are stored on, for --backend board.</summary>
    public BoardBackend? Board { get; private init; }

    /// <summary>Checks that the memory can run at a point (inside the profile's ranges, on the board's steps) and returns it.</summary>
    public OperatingPoint Check(OperatingPoint point) => _check(point);

    public static MemoryErrors Uniform(UniformBitErrors errors, int seed, bool thresholds) =>
        new(errors.ToString(), new OperatingPoint(0), null, thresholds, false, _ => new UniformBerBackend(errors, seed));

    public static MemoryErrors Emulated(DeviceProfile profile, OperatingPoint point, int seed, int? chip, PlacementPolicy policy, bool thresholds, int threads)
    {
        Func<WeightImage, Placement> place = image => Memory.Geometry.Placement.Create(image.Layout, profile.Geometry, policy);
        string where = $"{profile.Name} at {point}";
        return chip is { } c
            ? new MemoryErrors($"{where}, chip {c}", point, profile, thresholds, false, _ => EmulatedMemory.For(profile, c, place, threads))
            : new MemoryErrors($"{where}, chips {seed}+k", point, profile, thresholds, true, k => EmulatedMemory.For(profile, unchecked(seed + k), place, threads));
    }

    /// <summary>One board: every trial loads from it (trials differ only where the board's faults are transient).</summary>
    public static MemoryErrors OnBoard(BoardBackend board, OperatingPoint point, bool thresholds)
    {
        board.Client.ToBoardPoint(point);
        return new MemoryErrors($"{board.Name} at {point}", point, null, thresholds, false, _ => board, p =>
        {
            board.Client.ToBoardPoint(p);
            return p;
        })
        { Board = board };
    }

    public static MemoryErrors Replayed(FaultMap map, string name, OperatingPoint point, PlacementPolicy policy, bool thresholds) =>
        new($"fault map {name} at {point}", point, null, thresholds, false,
            _ => new ReplayBackend(map, image => Memory.Geometry.Placement.Create(image.Layout, map.Geometry, policy)));

    /// <summary>The backend trial k loads from: created on first use and kept (one per trial, or one for all).</summary>
    public IMemoryBackend BackendFor(int trial)
    {
        lock (_backends)
        {
            int key = _perTrialBackend ? trial : 0;
            if (!_backends.TryGetValue(key, out var backend)) _backends[key] = backend = _create(trial);
            return backend;
        }
    }

    /// <summary>Stores <paramref name="image"/> in trial k's backend and reads it back at a point (default <see cref="Point"/>).</summary>
    public MemoryReadout Load(WeightImage image, int trial, OperatingPoint? point = null, CancellationToken cancel = default)
    {
        var backend = BackendFor(trial);
        backend.Store(image, cancel);
        return backend.Load(new LoadRequest(point ?? Point, trial), cancel);
    }

    public void Dispose()
    {
        foreach (var b in _backends.Values) b.Dispose();
        _backends.Clear();
        Board?.Dispose(); // opened even when no trial ran
    }
}
