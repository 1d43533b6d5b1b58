namespace HilBench.Bnn.Tensors;

/// <summary>
/// Shape of one image's activations, channels last (height, width, channels).
/// Dense activations are (1, 1, n). Flattening a feature map for a dense layer
/// follows this HWC order.
/// </summary>
public readonly record struct TensorShape(int Height, int Width, int Channels)
{
    public int Size => Height * Width * Channels;

    public static TensorShape Vector(int length) => new(1, 1, length);

    public bool IsVector => Height == 1 && Width == 1;

    public override string ToString() => IsVector ? $"{Channels}" : $"{Height}x{Width}x{Channels}";
}
