using HilBench.Bnn.Tensors;

namespace HilBench.Bnn.Layers;

/// <summary>
/// Fully connected layer with +-1 weights packed [out][in]. A feature-map input is flattened
/// in HWC order. Pre-activation: a = sum_i w_i * x_i, which for +-1 inputs is n - 2*popcount(w XOR x).
/// </summary>
public sealed class BinaryDense : WeightLayer
{
    public BinaryDense(TensorShape inputShape, BitMatrix weights) : base(inputShape, weights)
    {
        if (weights.Columns != inputShape.Size)
            throw new ArgumentException($"dense weights have {weights.Columns} columns but the input has {inputShape.Size} values ({inputShape})");
    }

    public override TensorShape OutputShape => TensorShape.Vector(Outputs);

    public override string Kind => "dense";

    public override WeightLayer WithWeights(BitMatrix weights) => new BinaryDense(InputShape, weights);
}
