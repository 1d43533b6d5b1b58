using HilBench.Bnn.Model;
using HilBench.Bnn.Tensors;

namespace HilBench.Bnn.Errors;

/// <summary>Applies an error source to every weight block of a model, leaving the original untouched.</summary>
public static class ErrorInjection
{
    /// <summary>A copy of the model whose weights went through the error source once; also returns the number of flipped bits.</summary>
    public static (BnnModel Model, long Flipped) Corrupt(BnnModel model, IWeightErrorSource source, Random random)
    {
        long flipped = 0;
        var weights = new List<BitMatrix>(model.Blocks.Count);
        foreach (var block in model.Blocks)
        {
            var w = block.Linear.Weights.Clone();
            flipped += source.Inject(w, block.Index, random);
            weights.Add(w);
        }
        return (model.WithWeights(weights), flipped);
    }

    /// <summary>
    /// The random stream of Monte-Carlo trial k for a user seed: the same (seed, trial) gives the same
    /// pattern on every machine and thread count.
    /// </summary>
    public static Random TrialRandom(int seed, int trial) => Randomness.Derive(seed, trial);
}
