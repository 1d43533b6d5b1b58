namespace HilBench.Bnn.Model;

/// <summary>
/// Where a model came from: the data set it was trained on, its training settings, and free-form
/// key/value pairs. Stored in the model file; keys and values are plain strings.
/// </summary>
public sealed record ModelMetadata
{
    public string Dataset { get; init; } = "";

    public IReadOnlyDictionary<string, string> Training { get; init; } = new SortedDictionary<string, string>(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, string> Extra { get; init; } = new SortedDictionary<string, string>(StringComparer.Ordinal);

    public static ModelMetadata Empty { get; } = new();

    public bool Equals(ModelMetadata? other) =>
        other is not null && Dataset == other.Dataset && SameEntries(Training, other.Training) && SameEntries(Extra, other.Extra);

    public override int GetHashCode() => HashCode.Combine(Dataset, Training.Count, Extra.Count);

    private static bool SameEntries(IReadOnlyDictionary<string, string> a, IReadOnlyDictionary<string, string> b) =>
        a.Count == b.Count && a.All(kv => b.TryGetValue(kv.Key, out var v) && v == kv.Value);
}
