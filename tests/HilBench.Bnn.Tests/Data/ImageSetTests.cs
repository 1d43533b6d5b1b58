using HilBench.Bnn.Data;
using HilBench.Bnn.Tensors;
using NUnit.Framework;

namespace HilBench.Bnn.Tests.Data;

[TestFixture]
public sealed class ImageSetTests
{
    private static readonly TensorShape Shape = new(2, 3, 2);

    [Test]
    public void Exposes_shape_count_classes_and_arrays()
    {
        var pixels = IdxBytes.Pattern(4 * Shape.Size);
        byte[] labels = [0, 2, 1, 2];

        var set = new ImageSet(Shape, pixels, labels, classes: 3);

        Assert.That(set.Shape, Is.EqualTo(Shape));
        Assert.That(set.Count, Is.EqualTo(4));
        Assert.That(set.Classes, Is.EqualTo(3));
        Assert.That(set.Pixels, Is.SameAs(pixels));
        Assert.That(set.Labels, Is.SameAs(labels));
    }

    [Test]
    public void Image_returns_the_indexed_image()
    {
        var pixels = IdxBytes.Pattern(3 * Shape.Size);
        var set = new ImageSet(Shape, pixels, [0, 1, 0], classes: 2);

        Assert.That(set.Image(2).ToArray(), Is.EqualTo(pixels[(2 * Shape.Size)..]));
        Assert.That(() => set.Image(3), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => set.Image(-1), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void Take_returns_the_first_images_with_the_same_classes()
    {
        var pixels = IdxBytes.Pattern(3 * Shape.Size);
        var set = new ImageSet(Shape, pixels, [4, 1, 0], classes: 5);

        var first = set.Take(2);

        Assert.That(first.Count, Is.EqualTo(2));
        Assert.That(first.Classes, Is.EqualTo(5));
        Assert.That(first.Labels, Is.EqualTo(new byte[] { 4, 1 }));
        Assert.That(first.Pixels, Is.EqualTo(pixels[..(2 * Shape.Size)]));
        Assert.That(set.Take(0).Count, Is.Zero);
        Assert.That(() => set.Take(4), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void Refuses_pixels_that_are_not_one_image_per_label()
    {
        Assert.That(
            () => new ImageSet(Shape, new byte[Shape.Size * 2 - 1], [0, 1], classes: 2),
            Throws.ArgumentException.With.Message.Contains("2 images of 2x3x2 need 24 pixel bytes, not 23"));
    }

    [Test]
    public void Refuses_label_not_below_classes()
    {
        Assert.That(
            () => new ImageSet(Shape, new byte[Shape.Size * 2], [0, 10], classes: 10),
            Throws.ArgumentException.With.Message.Contains("label 10 of image 1"));
    }

    [Test]
    public void Refuses_non_positive_shape_or_classes()
    {
        Assert.That(() => new ImageSet(new TensorShape(0, 3, 1), [], [], classes: 2), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => new ImageSet(Shape, [], [], classes: 0), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }
}
