using HilBench.Bnn.Tensors;

namespace HilBench.Bnn.Data;

/// <summary>
/// Labelled 8-bit images of one shape, stored channels last (HWC) one after another
/// in a single array so that a whole split is one allocation.
/// </summary>
public sealed class ImageSet
{
    /// <exception cref="ArgumentException">
    /// The shape is not positive, <paramref name="pixels"/> is not exactly one image per label,
    /// or a label is not below <paramref name="classes"/>.
    /// </exception>
    public ImageSet(TensorShape shape, byte[] pixels, byte[] labels, int classes)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(labels);
        if (shape.Height <= 0 || shape.Width <= 0 || shape.Channels <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(shape), shape, "image dimensions must be positive");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 1);
        if ((long)labels.Length * shape.Size != pixels.Length)
        {
            throw new ArgumentException(
                $"{labels.Length} images of {shape} need {(long)labels.Length * shape.Size} pixel bytes, not {pixels.Length}",
                nameof(pixels));
        }

        // Labels are bytes, so with 256 or more classes none can be out of range.
        int outOfRange = classes > byte.MaxValue ? -1 : labels.AsSpan().IndexOfAnyInRange((byte)classes, byte.MaxValue);
        if (outOfRange >= 0)
        {
            throw new ArgumentException($"label {labels[outOfRange]} of image {outOfRange} is not below the class count {classes}", nameof(labels));
        }

        Shape = shape;
        Pixels = pixels;
        Labels = labels;
        Classes = classes;
    }

    public TensorShape Shape { get; }

    public int Count => Labels.Length;

    public int Classes { get; }

    /// <summary><see cref="Count"/> × <see cref="Shape"/>.Size bytes, image after image.</summary>
    public byte[] Pixels { get; }

    /// <summary>One label per image, each below <see cref="Classes"/>.</summary>
    public byte[] Labels { get; }

    /// <summary>The pixels of image <paramref name="index"/>, HWC, without copying.</summary>
    public ReadOnlySpan<byte> Image(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        return Pixels.AsSpan(index * Shape.Size, Shape.Size);
    }

    /// <summary>A copy of the first <paramref name="count"/> images, keeping <see cref="Classes"/>.</summary>
    public ImageSet Take(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, Count);
        return new ImageSet(Shape, Pixels[..(count * Shape.Size)], Labels[..count], Classes);
    }
}
