using HilBench.Bnn.Data;
using HilBench.Bnn.Tensors;
using NUnit.Framework;

namespace HilBench.Bnn.Tests.Data;

/// <summary>The vendored datasets/fashion-mnist, loaded once for the fixture.</summary>
[TestFixture]
public sealed class FashionMnistTests
{
    // Sums of all pixel bytes, computed once from the vendored files; they change if a file is damaged or replaced.
    private const long TrainPixelSum = 3_431_114_169;
    private const long TestPixelSum = 573_469_082;

    private IdxDataset _set = null!;

    [OneTimeSetUp]
    public void LoadOnce() => _set = IdxDataset.Load(IdxDataset.DefaultDirectory());

    [Test]
    public void DefaultDirectory_finds_the_vendored_set()
    {
        Assert.That(_set.Name, Is.EqualTo("fashion-mnist"));
        Assert.That(Path.GetFileName(Path.GetDirectoryName(_set.Directory)), Is.EqualTo("datasets"));
    }

    [Test]
    public void Has_60000_train_and_10000_test_images_of_28x28x1()
    {
        Assert.That(_set.Train.Count, Is.EqualTo(60_000));
        Assert.That(_set.Test.Count, Is.EqualTo(10_000));
        Assert.That(_set.Train.Shape, Is.EqualTo(new TensorShape(28, 28, 1)));
        Assert.That(_set.Test.Shape, Is.EqualTo(new TensorShape(28, 28, 1)));
        Assert.That(_set.Train.Classes, Is.EqualTo(10));
        Assert.That(_set.Test.Classes, Is.EqualTo(10));
    }

    [Test]
    public void Every_class_has_6000_train_and_1000_test_images()
    {
        Assert.That(CountPerClass(_set.Train), Is.EqualTo(Enumerable.Repeat(6000, 10)));
        Assert.That(CountPerClass(_set.Test), Is.EqualTo(Enumerable.Repeat(1000, 10)));
    }

    [Test]
    public void Pixel_sums_match_the_known_checksums()
    {
        Assert.That(Sum(_set.Train.Pixels), Is.EqualTo(TrainPixelSum));
        Assert.That(Sum(_set.Test.Pixels), Is.EqualTo(TestPixelSum));
    }

    [Test]
    public void LoadTest_matches_the_test_split_of_Load()
    {
        var test = IdxDataset.LoadTest(_set.Directory);

        Assert.That(test.Labels, Is.EqualTo(_set.Test.Labels));
        Assert.That(Sum(test.Pixels), Is.EqualTo(TestPixelSum));
    }

    private static int[] CountPerClass(ImageSet set)
    {
        var counts = new int[set.Classes];
        foreach (byte label in set.Labels)
        {
            counts[label]++;
        }

        return counts;
    }

    private static long Sum(byte[] pixels)
    {
        long sum = 0;
        foreach (byte pixel in pixels)
        {
            sum += pixel;
        }

        return sum;
    }
}
