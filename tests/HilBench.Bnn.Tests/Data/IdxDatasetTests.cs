using HilBench.Bnn.Data;
using HilBench.Bnn.Tensors;
using NUnit.Framework;

namespace HilBench.Bnn.Tests.Data;

/// <summary>Small hand-made IDX sets in a temporary directory.</summary>
[TestFixture]
public sealed class IdxDatasetTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "hilbench-dataset-" + Guid.NewGuid().ToString("N"), "tiny-mnist");
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(Path.GetDirectoryName(_dir)!, recursive: true);

    [Test]
    public void Loads_raw_mnist_style_set_with_dotted_names()
    {
        var trainPixels = IdxBytes.Pattern(5 * 4 * 3, seed: 1);
        var testPixels = IdxBytes.Pattern(2 * 4 * 3, seed: 2);
        Write("train-images.idx3-ubyte", [5, 4, 3], trainPixels);
        Write("train-labels.idx1-ubyte", [5], [3, 1, 4, 1, 5]);
        Write("t10k-images.idx3-ubyte", [2, 4, 3], testPixels);
        Write("t10k-labels.idx1-ubyte", [2], [2, 6]);

        var set = IdxDataset.Load(_dir);

        Assert.That(set.Name, Is.EqualTo("tiny-mnist"));
        Assert.That(set.Directory, Is.EqualTo(Path.GetFullPath(_dir)));
        Assert.That(set.Train.Shape, Is.EqualTo(new TensorShape(4, 3, 1)));
        Assert.That(set.Train.Count, Is.EqualTo(5));
        Assert.That(set.Train.Pixels, Is.EqualTo(trainPixels));
        Assert.That(set.Train.Labels, Is.EqualTo(new byte[] { 3, 1, 4, 1, 5 }));
        Assert.That(set.Test.Count, Is.EqualTo(2));
        Assert.That(set.Test.Pixels, Is.EqualTo(testPixels));
        Assert.That(set.Test.Labels, Is.EqualTo(new byte[] { 2, 6 }));
    }

    [Test]
    public void Classes_is_the_largest_label_of_both_splits_plus_one()
    {
        WriteSplit("train", count: 3, labels: [0, 1, 2]);
        WriteSplit("t10k", count: 2, labels: [7, 0]);

        var set = IdxDataset.Load(_dir);

        Assert.That(set.Train.Classes, Is.EqualTo(8));
        Assert.That(set.Test.Classes, Is.EqualTo(8));
    }

    [Test]
    public void Loads_four_dimensional_images_as_hwc()
    {
        var pixels = IdxBytes.Pattern(2 * 3 * 4 * 3);
        Write("t10k-images-idx3-ubyte.gz", [2, 3, 4, 3], pixels, gzip: true);
        Write("t10k-labels-idx1-ubyte.gz", [2], [0, 1], gzip: true);

        var test = IdxDataset.LoadTest(_dir);

        Assert.That(test.Shape, Is.EqualTo(new TensorShape(3, 4, 3)));
        Assert.That(test.Image(1).ToArray(), Is.EqualTo(pixels[36..]));
    }

    [Test]
    public void LoadTest_and_Load_without_train_need_no_train_files()
    {
        WriteSplit("t10k", count: 2, labels: [1, 0]);

        var test = IdxDataset.LoadTest(_dir);
        var set = IdxDataset.Load(_dir, loadTrain: false);

        Assert.That(test.Count, Is.EqualTo(2));
        Assert.That(set.Test.Labels, Is.EqualTo(new byte[] { 1, 0 }));
        Assert.That(() => set.Train, Throws.InvalidOperationException.With.Message.Contains("loadTrain: true"));
    }

    [Test]
    public void Refuses_image_label_count_mismatch_naming_both_counts()
    {
        WriteSplit("t10k", count: 5, labels: [0, 1, 2, 3]);

        var ex = Assert.Throws<DatasetException>(() => IdxDataset.LoadTest(_dir))!;

        Assert.That(ex.Message, Does.Contain("t10k-images-idx3-ubyte.gz holds 5 images")
            .And.Contain("t10k-labels-idx1-ubyte.gz holds 4 labels"));
    }

    [Test]
    public void Refuses_missing_directory_suggesting_dataset_option()
    {
        string missing = Path.Combine(_dir, "nowhere");

        var ex = Assert.Throws<DatasetException>(() => IdxDataset.Load(missing))!;

        Assert.That(ex.Message, Does.Contain(missing).And.Contain("does not exist").And.Contain("--dataset DIR"));
    }

    [Test]
    public void Refuses_missing_file_naming_it_and_suggesting_dataset_option()
    {
        WriteSplit("train", count: 1, labels: [0]);
        Write("t10k-images-idx3-ubyte.gz", [1, 2, 2], new byte[4], gzip: true);

        var ex = Assert.Throws<DatasetException>(() => IdxDataset.Load(_dir))!;

        Assert.That(ex.Message, Does.Contain("t10k-labels-idx1-ubyte[.gz]")
            .And.Contain("t10k-labels.idx1-ubyte[.gz]").And.Contain("--dataset DIR"));
    }

    [Test]
    public void Refuses_two_dimensional_labels()
    {
        Write("t10k-images-idx3-ubyte.gz", [2, 2, 2], new byte[8], gzip: true);
        Write("t10k-labels-idx1-ubyte.gz", [2, 1], [0, 1], gzip: true);

        var ex = Assert.Throws<DatasetException>(() => IdxDataset.LoadTest(_dir))!;

        Assert.That(ex.Message, Does.Contain("t10k-labels-idx1-ubyte.gz").And.Contain("must be 1-D").And.Contain("2-D (2x1)"));
    }

    [Test]
    public void Refuses_two_dimensional_images()
    {
        Write("t10k-images-idx3-ubyte.gz", [2, 4], new byte[8], gzip: true);
        Write("t10k-labels-idx1-ubyte.gz", [2], [0, 1], gzip: true);

        var ex = Assert.Throws<DatasetException>(() => IdxDataset.LoadTest(_dir))!;

        Assert.That(ex.Message, Does.Contain("t10k-images-idx3-ubyte.gz").And.Contain("3-D").And.Contain("2-D (2x4)"));
    }

    [Test]
    public void Refuses_splits_of_different_image_shapes()
    {
        WriteSplit("train", count: 1, labels: [0]);
        Write("t10k-images-idx3-ubyte.gz", [1, 3, 2], new byte[6], gzip: true);
        Write("t10k-labels-idx1-ubyte.gz", [1], [0], gzip: true);

        var ex = Assert.Throws<DatasetException>(() => IdxDataset.Load(_dir))!;

        Assert.That(ex.Message, Does.Contain("train images are 2x2x1 but t10k images are 3x2x1"));
    }

    [Test]
    [NonParallelizable]
    public void DefaultDirectory_honours_HILBENCH_DATASETS()
    {
        string datasets = Path.GetDirectoryName(_dir)!;
        string fashion = Directory.CreateDirectory(Path.Combine(datasets, "fashion-mnist")).FullName;
        File.WriteAllBytes(Path.Combine(fashion, "t10k-images-idx3-ubyte.gz"), []);

        Assert.That(WithDatasetsVariable(datasets, IdxDataset.DefaultDirectory), Is.EqualTo(fashion));
    }

    [Test]
    [NonParallelizable]
    public void DefaultDirectory_reports_a_wrong_HILBENCH_DATASETS()
    {
        var ex = Assert.Throws<DatasetException>(() => WithDatasetsVariable(_dir, IdxDataset.DefaultDirectory))!;

        Assert.That(ex.Message, Does.Contain("HILBENCH_DATASETS").And.Contain(_dir).And.Contain("--dataset DIR"));
    }

    private static string WithDatasetsVariable(string value, Func<string> action)
    {
        string? saved = Environment.GetEnvironmentVariable("HILBENCH_DATASETS");
        Environment.SetEnvironmentVariable("HILBENCH_DATASETS", value);
        try
        {
            return action();
        }
        finally
        {
            Environment.SetEnvironmentVariable("HILBENCH_DATASETS", saved);
        }
    }

    /// <summary>A split of 2x2 single-channel images in the gzipped Fashion-MNIST naming.</summary>
    private void WriteSplit(string split, int count, byte[] labels)
    {
        Write($"{split}-images-idx3-ubyte.gz", [count, 2, 2], IdxBytes.Pattern(count * 4), gzip: true);
        Write($"{split}-labels-idx1-ubyte.gz", [labels.Length], labels, gzip: true);
    }

    private void Write(string name, int[] dimensions, byte[] data, bool gzip = false) =>
        IdxFile.Write(Path.Combine(_dir, name), dimensions, data, gzip);
}
