using HilBench.Bnn.Tensors;

namespace HilBench.Bnn.Errors;

/// <summary>
/// Something that corrupts binarized weights the way a memory would: bit flip training draws a fresh
/// pattern on every forward pass, evaluation under errors draws one per Monte-Carlo trial. The memory
/// layer implements it for device profiles; <see cref="UniformBitErrors"/> is the literature's model.
/// </summary>
public interface IWeightErrorSource
{
    /// <summary>Flips bits of one block's weights in place, drawing from <paramref name="random"/>; returns how many flipped.</summary>
    long Inject(BitMatrix weights, int block, Random random);
}
