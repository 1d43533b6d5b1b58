using HilBench.Bnn.Tensors;

namespace HilBench.Bnn.Layers;

/// <summary>
/// 2x2 max pooling, stride 2, on the integer pre-activations (before the threshold).
/// An odd trailing row or column is dropped, as in PyTorch's default.
/// </summary>
public sealed class MaxPool2d : BnnLayer
{
    public MaxPool2d(TensorShape inputShape) : base(inputShape)
    {
        if (inputShape.Height < 2 || inputShape.Width < 2)
            throw new ArgumentException($"2x2 max pooling needs at least a 2x2 feature map, got {inputShape.Height}x{inputShape.Width}x{inputShape.Channels}");
    }

    public override TensorShape OutputShape => new(InputShape.Height / 2, InputShape.Width / 2, InputShape.Channels);

    public override string Kind => "maxpool2x2";
}
