using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using HilBench.Bnn.Data;
using HilBench.Bnn.Kernels;
using HilBench.Bnn.Tensors;

namespace HilBench.Cli;

/// <summary>
/// Options shared by several commands. Each call makes a new instance, because a System.CommandLine
/// option belongs to the command it is added to.
/// </summary>
public static class CliOptions
{
    public static readonly string[] KernelNames = ["auto", "scalar", "vector256", "vector512"];

    public static Option<string> Model(string description = "model file (.hbnn)") => new("--model", "-m")
    {
        Description = description,
        HelpName = "FILE",
        Required = true,
    };

    public static Option<string?> Dataset() => new("--dataset")
    {
        Description = "IDX data set directory holding t10k-images/labels (default: the vendored datasets/fashion-mnist)",
        HelpName = "DIR",
    };

    public const string TestSplit = "test", TrainSplit = "train";

    /// <summary>Which split of the data set the neuron importances are measured on (--importance-split).</summary>
    public static Option<string> ImportanceSplit() => new Option<string>("--importance-split")
    {
        Description = "split the importances are measured on: test (the first --importance-images test images) or train (the first --importance-images training images; needs the data set's train files)",
        HelpName = "test|train",
        DefaultValueFactory = _ => TestSplit,
    }.AcceptOnlyFromAmong(TestSplit, TrainSplit);

    /// <summary>
    /// The images the importances are measured on: the first <paramref name="count"/> of <paramref name="test"/>, or of the
    /// training split of the data set in <paramref name="datasetPath"/> (whose loader refuses a train split of another shape).
    /// </summary>
    public static ImageSet ImportanceImages(string split, string datasetPath, ImageSet test, int count)
    {
        var source = split == TrainSplit ? IdxDataset.Load(datasetPath).Train : test;
        return count < source.Count ? source.Take(count) : source;
    }

    public static Option<bool> Json(string what = "the result") => new("--json")
    {
        Description = $"print {what} as one JSON object instead of tables",
    };

    public static Option<int> Threads(string description) => Integer("--threads", description, 0, 0);

    public static Option<string> Kernel() => new Option<string>("--kernel")
    {
        Description = "SIMD kernel path; every path gives identical results",
        HelpName = string.Join("|", KernelNames),
        DefaultValueFactory = _ => "auto",
    }.AcceptOnlyFromAmong(KernelNames);

    /// <summary>An image shape such as 28x28x1 (or 28x28, one channel).</summary>
    public static Option<TensorShape> Shape(string name, string description, TensorShape defaultValue) => new(name)
    {
        Description = description,
        HelpName = "HxWxC",
        DefaultValueFactory = _ => defaultValue,
        CustomParser = ParseShape,
    };

    /// <summary>An integer option of at least <paramref name="minimum"/>; anything else is a usage error.</summary>
    public static Option<int> Integer(string name, string description, int defaultValue, int minimum) => new(name)
    {
        Description = description,
        HelpName = "N",
        DefaultValueFactory = _ => defaultValue,
        CustomParser = r =>
        {
            string text = r.Tokens.Count > 0 ? r.Tokens[^1].Value : "";
            if (int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int value) && value >= minimum)
                return value;
            r.AddError($"{name} must be a whole number of at least {minimum}, not '{text}'.");
            return defaultValue;
        },
    };

    /// <summary>A probability option (0..1, e.g. a bit error rate); anything else is a usage error.</summary>
    public static Option<double?> Probability(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "P",
        CustomParser = r =>
        {
            string text = r.Tokens.Count > 0 ? r.Tokens[^1].Value : "";
            if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) && value >= 0 && value <= 1)
                return value;
            r.AddError($"{name} must be a probability between 0 and 1 (e.g. 0.01 for 1%), not '{text}'.");
            return null;
        },
    };

    /// <summary>
    /// Makes a value given on the command line that <paramref name="parse"/> rejects with a <see cref="CliException"/> a usage error
    /// (exit code 2, with the parser's message), as other invalid option values are. The action parses the value again.
    /// </summary>
    public static TOption CheckedBy<TOption>(this TOption option, Action<string> parse) where TOption : Option
    {
        option.Validators.Add(r =>
        {
            if (r.Tokens.Count == 0) return; // the default
            try
            {
                parse(r.Tokens[^1].Value);
            }
            catch (CliException e)
            {
                r.AddError(e.Message);
            }
        });
        return option;
    }

    /// <summary>The kernel path named by <see cref="Kernel"/> ("auto", "scalar", "vector256", "vector512").</summary>
    public static KernelPath KernelPathOf(string name) => name switch
    {
        "scalar" => KernelPath.Scalar,
        "vector256" => KernelPath.Vector256,
        "vector512" => KernelPath.Vector512,
        _ => KernelPath.Auto,
    };

    /// <summary>The name a kernel path has on the command line and in JSON.</summary>
    public static string NameOf(KernelPath path) => path.ToString().ToLowerInvariant();

    /// <summary>0 (or less) means every core, as <c>InferenceEngine.Run</c> does.</summary>
    public static int ResolveThreads(int threads) => threads > 0 ? threads : Environment.ProcessorCount;

    public static bool TryParseShape(string text, out TensorShape shape)
    {
        shape = default;
        var parts = text.Trim().ToLowerInvariant().Split('x');
        if (parts.Length is < 2 or > 3) return false;
        var dims = new int[3];
        dims[2] = 1;
        for (int i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out dims[i]) || dims[i] is < 1 or > 1 << 16)
                return false;
        }
        shape = new TensorShape(dims[0], dims[1], dims[2]);
        return true;
    }

    private static TensorShape ParseShape(ArgumentResult result)
    {
        string text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
        if (TryParseShape(text, out var shape)) return shape;
        result.AddError($"'{text}' is not an image shape; write HEIGHTxWIDTHxCHANNELS, e.g. 28x28x1 (or 28x28 for one channel).");
        return default;
    }
}
