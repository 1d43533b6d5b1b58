using HilBench.Bnn.Tensors;

namespace HilBench.Bnn.Data;

/// <summary>
/// An MNIST-style data set: a directory holding train and t10k (test) splits as IDX
/// image and label files, raw or gzipped. Fashion-MNIST is vendored in
/// datasets/fashion-mnist; MNIST and other IDX sets load the same way.
/// </summary>
public sealed class IdxDataset
{
    private const string DatasetsVariable = "HILBENCH_DATASETS";
    private const string DefaultName = "fashion-mnist";
    private const string DefaultMarkerFile = "t10k-images-idx3-ubyte.gz";
    private const string ExpectedFiles =
        "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (raw or .gz)";

    private readonly ImageSet? _train;

    private IdxDataset(string directory, ImageSet? train, ImageSet test)
    {
        Directory = directory;
        Name = Path.GetFileName(directory);
        _train = train;
        Test = test;
    }

    /// <summary>The directory name, e.g. "fashion-mnist".</summary>
    public string Name { get; }

    /// <summary>Full path of the data set directory.</summary>
    public string Directory { get; }

    /// <summary>The training split.</summary>
    /// <exception cref="InvalidOperationException">
    /// The set was loaded with <c>loadTrain: false</c>; throwing rather than returning an
    /// empty set stops a caller from silently training or calibrating on nothing.
    /// </exception>
    public ImageSet Train => _train ?? throw new InvalidOperationException(
        $"the training split of {Name} was not loaded; call IdxDataset.Load(directory, loadTrain: true)");

    /// <summary>The test (t10k) split.</summary>
    public ImageSet Test { get; }

    /// <summary>
    /// Loads both splits, or only the test split when <paramref name="loadTrain"/> is false
    /// (then the train files need not exist and <see cref="Train"/> throws).
    /// <see cref="ImageSet.Classes"/> is the largest label of the loaded splits plus one, shared by both.
    /// </summary>
    /// <exception cref="DatasetException">A directory or file is missing, damaged or of the wrong shape.</exception>
    public static IdxDataset Load(string directory, bool loadTrain = true)
    {
        string root = ExistingDirectory(directory);
        if (!loadTrain)
        {
            return new IdxDataset(root, null, ReadTestSplit(root));
        }

        // Inflating gzip is the whole cost and is single-threaded, so the test split is
        // decompressed on another core while this one works through the six times larger train split.
        var pendingTest = Task.Run(() => LabelledImages.Read(root, "t10k"));
        var train = LabelledImages.Read(root, "train");
        var test = pendingTest.GetAwaiter().GetResult();
        if (train.Shape != test.Shape)
        {
            throw new DatasetException(
                $"{root}: train images are {train.Shape} but t10k images are {test.Shape}; both splits must come from the same data set");
        }

        int classes = Math.Max(train.Classes, test.Classes);
        return new IdxDataset(root, train.ToImageSet(classes), test.ToImageSet(classes));
    }

    /// <summary>Loads only the test split, for evaluation runs that never touch the training data.</summary>
    /// <exception cref="DatasetException">A directory or file is missing, damaged or of the wrong shape.</exception>
    public static ImageSet LoadTest(string directory) => ReadTestSplit(ExistingDirectory(directory));

    /// <summary>
    /// The vendored Fashion-MNIST directory. If <c>HILBENCH_DATASETS</c> is set, it must name a
    /// directory containing fashion-mnist/ (a wrong setting is reported, not skipped, so it is
    /// never silently ignored); otherwise datasets/fashion-mnist is searched for upwards from the
    /// application directory and then from the current directory.
    /// </summary>
    /// <exception cref="DatasetException">No Fashion-MNIST directory is found.</exception>
    public static string DefaultDirectory()
    {
        string? datasets = Environment.GetEnvironmentVariable(DatasetsVariable);
        if (!string.IsNullOrEmpty(datasets))
        {
            string configured = Path.GetFullPath(Path.Combine(datasets, DefaultName));
            if (File.Exists(Path.Combine(configured, DefaultMarkerFile)))
            {
                return configured;
            }

            throw new DatasetException(
                $"{DatasetsVariable} is '{datasets}' but {configured} holds no {DefaultMarkerFile}; " +
                $"point {DatasetsVariable} at a directory containing {DefaultName}/, unset it, or pass --dataset DIR");
        }

        string[] starts = [AppContext.BaseDirectory, Environment.CurrentDirectory];
        foreach (string start in starts)
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, "datasets", DefaultName);
                if (File.Exists(Path.Combine(candidate, DefaultMarkerFile)))
                {
                    return candidate;
                }
            }
        }

        throw new DatasetException(
            $"cannot find datasets/{DefaultName}/{DefaultMarkerFile} in or above {AppContext.BaseDirectory} or {Environment.CurrentDirectory}; " +
            $"run from inside the HilBench checkout, set {DatasetsVariable} to a directory containing {DefaultName}/, or pass --dataset DIR");
    }

    private static ImageSet ReadTestSplit(string root)
    {
        var test = LabelledImages.Read(root, "t10k");
        return test.ToImageSet(test.Classes);
    }

    private static string ExistingDirectory(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));
        if (!System.IO.Directory.Exists(full))
        {
            throw new DatasetException(
                $"data set directory {full} does not exist; pass --dataset DIR naming a directory that holds {ExpectedFiles}");
        }

        return full;
    }

    /// <summary>One split as read from its image and label files, before the class count is settled.</summary>
    private sealed record LabelledImages(TensorShape Shape, byte[] Pixels, byte[] Labels)
    {
        public int Classes => Labels.Max() + 1;

        public ImageSet ToImageSet(int classes) => new(Shape, Pixels, Labels, classes);

        public static LabelledImages Read(string root, string split)
        {
            string imagesPath = FindFile(root, split, "images", "idx3");
            string labelsPath = FindFile(root, split, "labels", "idx1");
            var images = IdxFile.Read(imagesPath);
            var labels = IdxFile.Read(labelsPath);

            var d = images.Dimensions;
            var shape = d.Count switch
            {
                3 => new TensorShape(d[1], d[2], 1),
                4 => new TensorShape(d[1], d[2], d[3]),
                _ => throw new DatasetException(
                    $"{imagesPath}: image files must be 3-D (count x rows x cols) or 4-D (count x rows x cols x channels) " +
                    $"but this one is {d.Count}-D ({string.Join("x", d)}); check that the images and labels files are not swapped"),
            };

            if (labels.Dimensions.Count != 1)
            {
                throw new DatasetException(
                    $"{labelsPath}: label files must be 1-D (count) but this one is {labels.Dimensions.Count}-D " +
                    $"({string.Join("x", labels.Dimensions)}); check that the images and labels files are not swapped");
            }

            if (d[0] != labels.Dimensions[0])
            {
                throw new DatasetException(
                    $"{imagesPath} holds {d[0]} images but {labelsPath} holds {labels.Dimensions[0]} labels; " +
                    "both files must come from the same split of the same data set, re-copy the mismatched one");
            }

            return new LabelledImages(shape, images.Data, labels.Data);
        }

        /// <summary>Accepts both the "train-images-idx3-ubyte" and the "train-images.idx3-ubyte" naming of MNIST mirrors.</summary>
        private static string FindFile(string root, string split, string kind, string idx)
        {
            string[] stems = [$"{split}-{kind}-{idx}-ubyte", $"{split}-{kind}.{idx}-ubyte"];
            foreach (string stem in stems)
            {
                foreach (string name in (string[])[stem, stem + ".gz"])
                {
                    string path = Path.Combine(root, name);
                    if (File.Exists(path))
                    {
                        return path;
                    }
                }
            }

            throw new DatasetException(
                $"{root}: no {split} {kind} file (looked for {stems[0]}[.gz] and {stems[1]}[.gz]); " +
                $"copy it there, or pass --dataset DIR naming a directory that holds {ExpectedFiles}");
        }
    }
}
