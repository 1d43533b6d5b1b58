using HilBench.Bnn.Tensors;

namespace HilBench.Bnn.Layers;

/// <summary>
/// 3x3 convolution, stride 1, "same" zero padding, +-1 weights packed [out][kh][kw][in]
/// (one row of 9*in bits per output channel). Padded positions contribute exactly 0 to the
/// sum (they are not treated as -1 or +1), so a border output sums over fewer terms.
/// </summary>
public sealed class BinaryConv2d : WeightLayer
{
    public const int Kernel = 3;

    public BinaryConv2d(TensorShape inputShape, BitMatrix weights) : base(inputShape, weights)
    {
        if (weights.Columns != Kernel * Kernel * inputShape.Channels)
            throw new ArgumentException($"conv weights have {weights.Columns} columns, expected 3*3*{inputShape.Channels} = {Kernel * Kernel * inputShape.Channels}");
    }

    public override TensorShape OutputShape => new(InputShape.Height, InputShape.Width, Outputs);

    public override string Kind => "conv3x3";

    public override WeightLayer WithWeights(BitMatrix weights) => new BinaryConv2d(InputShape, weights);

    /// <summary>Column of weight (kh, kw, c) within a row.</summary>
    public int Column(int kh, int kw, int c) => (kh * Kernel + kw) * InputShape.Channels + c;
}
