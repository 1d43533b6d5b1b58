using System.CommandLine;
using System.IO.Compression;
using HilBench.Bnn.Export;
using HilBench.Bnn.Model;

namespace HilBench.Cli.Commands;

/// <summary><c>hilbench export</c>: writes a model's weights, thresholds and metadata as a NumPy .npz archive, for Python.</summary>
public static class ExportCommand
{
    public static Command Create(CliContext context)
    {
        var model = CliOptions.Model("model file (.hbnn) to export");
        var npz = new Option<string>("--npz")
        {
            Description = "NumPy archive to write (loadable with numpy.load; one-way: it cannot be loaded back as a model)",
            HelpName = "FILE",
            Required = true,
        };
        var command = new Command("export", "Export a model to a NumPy .npz archive.") { model, npz };
        command.SetAction(r => CliErrors.Guard(context, () => Execute(context, r.GetRequiredValue(model), r.GetRequiredValue(npz))));
        return command;
    }

    public static int Execute(CliContext context, string modelPath, string npzPath)
    {
        var model = ModelFile.Load(modelPath);
        string full = OutputFiles.Prepare(npzPath);
        NpzExporter.Export(model, full);

        List<string> arrays;
        using (var zip = ZipFile.OpenRead(full))
            arrays = zip.Entries.Select(e => Path.GetFileNameWithoutExtension(e.FullName)).ToList();
        context.Out.WriteLine($"wrote {Formatting.DisplayPath(full)} ({Formatting.Count(new FileInfo(full).Length)} bytes, {arrays.Count} arrays) from {Formatting.DisplayPath(modelPath)}");
        foreach (var a in arrays) context.Out.WriteLine($"  {a}");
        return CliErrors.Success;
    }
}
