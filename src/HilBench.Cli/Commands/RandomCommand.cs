using System.CommandLine;
using System.Globalization;
using HilBench.Bnn.Model;
using HilBench.Bnn.Tensors;

namespace HilBench.Cli.Commands;

/// <summary>
/// <c>hilbench random</c>: writes a model with random weights and thresholds from a seed, so the same
/// arguments always give the same file. Useful to try eval, info and export before a trained model exists.
/// </summary>
public static class RandomCommand
{
    public static Command Create(CliContext context)
    {
        var arch = new Option<string>("--arch")
        {
            Description = "mlp (784-2048-2048-10), vgg3 (conv64-pool-conv64-pool-fc2048-fc10) or a layer spec such as conv32,pool,dense256,dense10",
            HelpName = "ARCH",
            Required = true,
        };
        var seed = new Option<int>("--seed")
        {
            Description = "random seed; the same seed gives the same weights",
            HelpName = "N",
            DefaultValueFactory = _ => 1,
        };
        var input = CliOptions.Shape("--input", "input image shape", ModelBuilder.MnistShape);
        var output = new Option<string>("--out", "-o")
        {
            Description = "model file to write (.hbnn)",
            HelpName = "FILE",
            Required = true,
        };
        var command = new Command("random", "Write a model with random weights (reproducible from the seed).")
        {
            arch, seed, input, output,
        };
        command.SetAction(r => CliErrors.Guard(context, () => Execute(context,
            r.GetRequiredValue(arch), r.GetValue(seed), r.GetValue(input), r.GetRequiredValue(output))));
        return command;
    }

    public static BnnModel Build(string arch, int seed, TensorShape input)
    {
        var model = ModelBuilder.FromSpec(arch, input, new Random(seed));
        var extra = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in model.Metadata.Extra) extra[key] = value;
        extra["architecture"] = ModelBuilder.ResolveSpec(arch);
        extra["seed"] = seed.ToString(CultureInfo.InvariantCulture);
        extra["weights"] = "random";
        return model.WithMetadata(model.Metadata with { Extra = extra });
    }

    public static int Execute(CliContext context, string arch, int seed, TensorShape input, string path)
    {
        var model = Build(arch, seed, input);
        string full = OutputFiles.Prepare(path);
        ModelFile.Save(model, full);
        context.Out.WriteLine(
            $"wrote {Formatting.DisplayPath(full)}: {Formatting.ShortArchitecture(model)} ({ModelBuilder.ResolveSpec(arch)}), input {input}, " +
            $"{Formatting.Count(model.WeightBits)} weight bits, seed {seed}, {Formatting.Count(new FileInfo(full).Length)} bytes");
        return CliErrors.Success;
    }
}
