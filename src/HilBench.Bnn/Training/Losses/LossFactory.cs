namespace HilBench.Bnn.Training.Losses;

/// <summary>Creates a loss from its command-line name.</summary>
public static class LossFactory
{
    /// <summary>The names <see cref="Create"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = ["ce", "mhl", "mcel"];

    /// <summary>
    /// "ce" (softmax cross-entropy; takes no margin), "mhl" (modified hinge loss; margin b, default 128)
    /// or "mcel" (margin cross-entropy; the margin m is required, the squashing limit is the default 100).
    /// Names are matched case-insensitively, surrounding white space ignored.
    /// </summary>
    /// <exception cref="ArgumentException">An unknown name, a margin given to "ce", or no margin for "mcel".</exception>
    public static ILoss Create(string name, double? margin = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        switch (name.Trim().ToLowerInvariant())
        {
            case "ce":
                if (margin is not null)
                    throw new ArgumentException(
                        $"The loss 'ce' (cross-entropy) takes no margin, but margin {margin.Value} was given; use 'mhl' or 'mcel' for a margin loss.",
                        nameof(margin));
                return new CrossEntropyLoss();
            case "mhl":
                return margin is { } b ? new ModifiedHingeLoss(b) : new ModifiedHingeLoss();
            case "mcel":
                if (margin is not { } m)
                    throw new ArgumentException("The loss 'mcel' (margin cross-entropy) needs a margin m.", nameof(margin));
                return new MarginCrossEntropyLoss(m);
            default:
                throw new ArgumentException(
                    $"Unknown loss '{name}'. Valid choices: {string.Join(", ", Names.Select(n => $"'{n}'"))} " +
                    "(ce = softmax cross-entropy, mhl = modified hinge loss, mcel = margin cross-entropy).",
                    nameof(name));
        }
    }
}
