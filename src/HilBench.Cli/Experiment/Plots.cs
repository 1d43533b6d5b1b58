using ScottPlot;

namespace HilBench.Cli.Experiment;

/// <summary>The study's figures (ScottPlot), each written as PNG and SVG; returns the PNG's file name for the report.</summary>
public static class Plots
{
    private const int Width = 900, Height = 560;

    private static readonly Color[] Palette =
    [
        Colors.Black, Colors.Blue, Colors.Green, Colors.Orange, Colors.Red, Colors.Purple, Colors.Brown, Colors.Teal, Colors.Magenta, Colors.Gray,
    ];

    private static Color ColorOf(int i) => Palette[i % Palette.Length];

    /// <summary>Accuracy (%) vs bit error rate, one line per model with its 95% interval as a band.</summary>
    public static string AccuracyVsBer(string dir, string name, string title, IReadOnlyList<ModelResult> models)
    {
        var plt = new Plot();
        for (int i = 0; i < models.Count; i++)
        {
            var m = models[i];
            double[] x = m.Curve.Select(p => p.Ber * 100).ToArray();
            var band = plt.Add.FillY(x, m.Curve.Select(p => p.Low * 100).ToArray(), m.Curve.Select(p => p.High * 100).ToArray());
            band.FillColor = ColorOf(i).WithAlpha(0.18);
            band.LineColor = Colors.Transparent;
            var line = plt.Add.Scatter(x, m.Curve.Select(p => p.Mean * 100).ToArray());
            line.Color = ColorOf(i);
            line.LineWidth = 2;
            line.MarkerSize = 5;
            line.LegendText = m.Name;
        }
        plt.Title(title);
        plt.XLabel("weight bit error rate (%)");
        plt.YLabel("test accuracy (%), mean and 95% interval");
        plt.ShowLegend(Edge.Right); // outside the data, never over a line
        return Save(plt, dir, name);
    }

    /// <summary>Distribution of the normalised margin d/n of one layer, one step line per model (share of samples per bin).</summary>
    public static string MarginHistograms(string dir, string name, string title, IReadOnlyList<(string Label, double[] Edges, long[] Counts)> series)
    {
        var plt = new Plot();
        for (int i = 0; i < series.Count; i++)
        {
            var (label, edges, counts) = series[i];
            double total = Math.Max(1, counts.Sum());
            var xs = new List<double>();
            var ys = new List<double>();
            for (int b = 0; b < counts.Length; b++)
            {
                xs.Add(edges[b]);
                ys.Add(counts[b] / total * 100);
                xs.Add(edges[b + 1]);
                ys.Add(counts[b] / total * 100);
            }
            var line = plt.Add.ScatterLine(xs.ToArray(), ys.ToArray());
            line.Color = ColorOf(i);
            line.LineWidth = 2;
            line.LegendText = label;
        }
        plt.Title(title);
        plt.XLabel("normalised margin d/n (distance to threshold / fan-in)");
        plt.YLabel("share of neuron-input samples (%)");
        plt.ShowLegend(Edge.Right);
        return Save(plt, dir, name);
    }

    /// <summary>One point per model, its name beside it, the least-squares line and the correlations in the title.</summary>
    public static string Scatter(string dir, string name, string xLabel, string yLabel, IReadOnlyList<(string Label, double X, double Y)> points, double spearman, double pearson)
    {
        var plt = new Plot();
        double[] x = points.Select(p => p.X).ToArray(), y = points.Select(p => p.Y).ToArray();
        var dots = plt.Add.ScatterPoints(x, y);
        dots.Color = Colors.Blue;
        dots.MarkerSize = 9;
        foreach (var (label, px, py) in points)
        {
            var text = plt.Add.Text(label, px, py);
            text.LabelFontSize = 11;
            text.LabelOffsetX = 6;
            text.LabelOffsetY = -6;
        }
        if (points.Count >= 2 && x.Distinct().Count() >= 2)
        {
            var (intercept, slope) = MathNet.Numerics.Fit.Line(x, y);
            double lo = x.Min(), hi = x.Max();
            var fit = plt.Add.Line(lo, intercept + slope * lo, hi, intercept + slope * hi);
            fit.Color = Colors.Red;
            fit.LineWidth = 1.5f;
            fit.LegendText = "least-squares line";
            plt.ShowLegend(slope < 0 ? Alignment.UpperRight : Alignment.LowerRight); // the corner the line leaves free
        }
        if (points.Count > 0)
        {
            // Room for the names right of the points.
            double xSpan = Math.Max(x.Max() - x.Min(), Math.Abs(x.Max()) * 0.1 + 1e-12), ySpan = Math.Max(y.Max() - y.Min(), Math.Abs(y.Max()) * 0.05 + 1e-12);
            plt.Axes.SetLimits(x.Min() - 0.08 * xSpan, x.Max() + 0.3 * xSpan, y.Min() - 0.1 * ySpan, y.Max() + 0.1 * ySpan);
        }
        plt.Title($"{yLabel} vs {xLabel}: Spearman {spearman:F2}, Pearson {pearson:F2}");
        plt.XLabel(xLabel);
        plt.YLabel(yLabel);
        return Save(plt, dir, name);
    }

    /// <summary>Accuracy (%) vs the share of read energy saved, one line per model, one point per operating point.</summary>
    public static string AccuracyVsEnergy(string dir, string name, string title, IReadOnlyList<ModelResult> models)
    {
        var plt = new Plot();
        for (int i = 0; i < models.Count; i++)
        {
            var m = models[i];
            var points = m.Energy.Where(e => e.Saving is not null).ToArray();
            if (points.Length == 0) continue;
            var line = plt.Add.Scatter(points.Select(e => e.Saving!.Value * 100).ToArray(), points.Select(e => e.Mean * 100).ToArray());
            line.Color = ColorOf(i);
            line.LineWidth = 2;
            line.MarkerSize = 6;
            line.LegendText = m.Name;
        }
        plt.Title(title);
        plt.XLabel("read energy saved vs nominal voltage (%)");
        plt.YLabel("test accuracy (%), mean over chips");
        plt.ShowLegend(Edge.Right); // outside the data, never over a line
        return Save(plt, dir, name);
    }

    private static string Save(Plot plt, string dir, string name)
    {
        plt.SavePng(Path.Combine(dir, name + ".png"), Width, Height);
        plt.SaveSvg(Path.Combine(dir, name + ".svg"), Width, Height);
        return name + ".png";
    }
}
