using HilBench.Bnn.Layers;
using HilBench.Bnn.Tensors;

namespace HilBench.Bnn.Model;

/// <summary>
/// A weight layer with what follows it before the next weight layer: an optional 2x2 max pool on the
/// integer pre-activations and, for hidden layers, the threshold. The output block has no threshold;
/// its pre-activations are the integer logits.
/// </summary>
public sealed record BnnBlock(int Index, WeightLayer Linear, MaxPool2d? Pool, ThresholdLayer? Threshold)
{
    /// <summary>True for the first block, which reads 8-bit pixels instead of +-1 activations.</summary>
    public bool ReadsPixels => Index == 0;

    public bool IsOutput => Threshold is null;

    /// <summary>Shape of the pre-activations the threshold sees (after pooling).</summary>
    public TensorShape OutputShape => Pool?.OutputShape ?? Linear.OutputShape;
}
