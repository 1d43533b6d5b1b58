using System.Globalization;
using HilBench.Bnn.Layers;
using HilBench.Bnn.Model;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace HilBench.Cli;

/// <summary>Numbers, architectures and tables as the CLI prints them (invariant culture, plain text cells).</summary>
public static class Formatting
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static string Count(long value) => value.ToString("N0", Invariant);

    public static string Rate(double value) => value.ToString("N0", Invariant);

    public static string Percent(double fraction) =>
        double.IsFinite(fraction) ? (fraction * 100).ToString("F2", Invariant) + " %" : "n/a";

    public static string Fixed(double value, int decimals) => value.ToString("F" + decimals, Invariant);

    /// <summary>How a layer's flips-to-change figures were obtained, as JSON and CSV name it.</summary>
    public static string FlipMethod(Metrics.Margins.FlipCountMethod method) => method switch
    {
        Metrics.Margins.FlipCountMethod.Exact => "exact",
        Metrics.Margins.FlipCountMethod.PooledConvApproximation => "pooled_conv_approximation",
        Metrics.Margins.FlipCountMethod.NotComputed => "not_computed",
        _ => throw new ArgumentOutOfRangeException(nameof(method), method, "unknown flip count method"),
    };

    /// <summary>Bits per second with an SI prefix, e.g. "48.2 Gbit/s".</summary>
    public static string BitsPerSecond(double value)
    {
        string[] prefixes = ["", "k", "M", "G", "T"];
        int p = 0;
        while (p < prefixes.Length - 1 && Math.Abs(value) >= 1000) { value /= 1000; p++; }
        return $"{value.ToString("F1", Invariant)} {prefixes[p]}bit/s";
    }

    /// <summary>A path for people to read: relative when it lies under the current directory, full otherwise.</summary>
    public static string DisplayPath(string path)
    {
        string full = Path.GetFullPath(path);
        string relative = Path.GetRelativePath(Environment.CurrentDirectory, full);
        return relative == "." || relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative) ? full : relative;
    }

    /// <summary>
    /// The layer sizes in one line: "784-2048-2048-10" for an MLP, "28x28x1-c64-p-c64-p-2048-10" with conv (c) and pool (p) layers.
    /// </summary>
    public static string ShortArchitecture(BnnModel model)
    {
        var parts = new List<string>
        {
            model.Layers[0] is BinaryDense ? model.InputShape.Size.ToString(Invariant) : model.InputShape.ToString(),
        };
        foreach (var layer in model.Layers)
        {
            switch (layer)
            {
                case BinaryDense d: parts.Add(d.Outputs.ToString(Invariant)); break;
                case BinaryConv2d c: parts.Add("c" + c.Outputs.ToString(Invariant)); break;
                case MaxPool2d: parts.Add("p"); break;
            }
        }
        return string.Join("-", parts);
    }

    /// <summary>
    /// A table whose cells are plain text (never parsed as Spectre markup, so brackets in paths are safe).
    /// Columns whose name starts with '>' are right-aligned (for numbers); the '>' is not shown.
    /// </summary>
    public static Table Table(params string[] columns)
    {
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var c in columns)
        {
            bool right = c.StartsWith('>');
            var column = new TableColumn(new Text(right ? c[1..] : c));
            if (right) column.RightAligned();
            table.AddColumn(column);
        }
        return table;
    }

    public static void Row(Table table, params string[] cells) => table.AddRow(cells.Select(c => (IRenderable)new Text(c)).ToArray());
}
