using System.Globalization;
using HilBench.Calibration.Fit;
using HilBench.Memory;
using HilBench.Memory.Profiles;
using ScottPlot;
using ScottPlot.TickGenerators;

namespace HilBench.Calibration.Report;

/// <summary>The calibration report's figures (ScottPlot), each written as PNG and SVG.</summary>
public static class CalibrationPlots
{
    private const int Width = 900, Height = 560;

    public const string FittedPointsLabel = "measured (fitted), 95% interval";
    public const string HeldoutPointsLabel = "measured (held out), 95% interval";
    public const string ZeroLabel = "no faults: upper 95% limit";
    public const string CurveLabel = "fitted model";
    public const string BandLabel = "95% interval for a chip of this size";
    public const string MeasuredBlocksLabel = "measured blocks";
    public const string ExpectedBlocksLabel = "expected under the fit";

    private static readonly Color[] Palette = [Colors.Black, Colors.Blue, Colors.Green, Colors.Orange, Colors.Purple, Colors.Brown, Colors.Teal];

    /// <summary>
    /// Measured and fitted bit error rate over the swept dimension (V for SRAM, tRCD for DRAM) on a log axis, one
    /// colour per temperature (and voltage, for DRAM); held-out points are red diamonds.
    /// </summary>
    public static string BerCurve(CalibrationResult result, string dir, string name = "ber")
    {
        var plt = new Plot();
        var profile = result.Profile;
        bool dram = profile.Technology == Technology.Dram;
        double X(OperatingPoint op) => dram ? op.TRcdNs ?? profile.Nominal.TRcdNs!.Value : op.Voltage;
        string Slice(OperatingPoint op) => dram ? $"V={Fmt(op.Voltage)} V, T={Fmt(op.TemperatureC)} C" : $"T={Fmt(op.TemperatureC)} C";
        var slices = result.Points.GroupBy(p => Slice(p.Point)).ToList();
        double floor = result.Points.Where(p => p.MeasuredBer > 0).Select(p => p.MeasuredLow).Where(v => v > 0).DefaultIfEmpty(1e-9).Min();
        floor = Math.Min(floor, result.Points.Select(p => p.FittedLow).Where(v => v > 0).DefaultIfEmpty(floor).Min()) / 3;
        double Log(double v) => Math.Log10(Math.Max(v, floor));
        bool multi = slices.Count > 1;
        for (int s = 0; s < slices.Count; s++)
        {
            var pts = slices[s].OrderBy(p => X(p.Point)).ToList();
            var color = Palette[s % Palette.Length];
            string suffix = multi ? $" ({slices[s].Key})" : "";

            // Band through the measured points, curve on a fine grid between them.
            double[] xs = pts.Select(p => X(p.Point)).ToArray();
            var band = plt.Add.FillY(xs, pts.Select(p => Log(p.FittedLow)).ToArray(), pts.Select(p => Log(p.FittedHigh)).ToArray());
            band.FillColor = color.WithAlpha(0.15);
            band.LineColor = Colors.Transparent;
            band.LegendText = BandLabel + suffix;
            var reference = pts[0];
            double lo = xs.Min(), hi = xs.Max();
            var gridX = Enumerable.Range(0, 81).Select(i => lo + (hi - lo) * i / 80).ToArray();
            var gridY = gridX.Select(x =>
            {
                var op = dram ? reference.Point with { TRcdNs = x } : reference.Point with { Voltage = x };
                return Log(profile.Model.ExpectedBer(op, reference.OnesShare));
            }).ToArray();
            var curve = plt.Add.ScatterLine(gridX, gridY);
            curve.Color = color;
            curve.LineWidth = 2;
            curve.LegendText = CurveLabel + suffix;

            AddPoints(plt, pts.Where(p => !p.Heldout && p.Faults > 0).ToList(), X, Log, color, MarkerShape.FilledCircle, FittedPointsLabel + suffix);
            AddPoints(plt, pts.Where(p => p.Heldout && p.Faults > 0).ToList(), X, Log, Colors.Red, MarkerShape.FilledDiamond, HeldoutPointsLabel + suffix);
            var zeros = pts.Where(p => p.Faults == 0).ToList();
            if (zeros.Count > 0)
            {
                var m = plt.Add.Markers(zeros.Select(p => X(p.Point)).ToArray(), zeros.Select(p => Log(p.MeasuredHigh)).ToArray(), MarkerShape.OpenTriangleDown, 9,
                    zeros.Any(p => p.Heldout) ? Colors.Red : color);
                m.LegendText = ZeroLabel + suffix;
            }
        }
        plt.Axes.Left.TickGenerator = new NumericAutomatic
        {
            IntegerTicksOnly = true,
            MinorTickGenerator = new LogMinorTickGenerator(),
            LabelFormatter = y => "1e" + y.ToString("0", CultureInfo.InvariantCulture),
        };
        plt.Title($"{profile.Name}: bit error rate, measured and fitted");
        plt.XLabel(dram ? "tRCD (ns)" : "supply voltage (V)");
        plt.YLabel("bit error rate (log scale)");
        plt.ShowLegend(Edge.Right);
        return Save(plt, dir, name);
    }

    private static void AddPoints(Plot plt, List<PointFit> pts, Func<OperatingPoint, double> x, Func<double, double> log, Color color, MarkerShape shape, string label)
    {
        if (pts.Count == 0) return;
        double[] xs = pts.Select(p => x(p.Point)).ToArray(), ys = pts.Select(p => log(p.MeasuredBer)).ToArray();
        var bars = new ScottPlot.Plottables.ErrorBar(xs, ys, null, null,
            pts.Select((p, i) => log(p.MeasuredHigh) - ys[i]).ToArray(), pts.Select((p, i) => ys[i] - log(p.MeasuredLow)).ToArray())
        {
            Color = color,
            LineWidth = 1.5f,
        };
        plt.Add.Plottable(bars);
        var markers = plt.Add.Markers(xs, ys, shape, 9, color);
        markers.LegendText = label;
    }

    /// <summary>How many blocks hold k faults at the lowest voltage: measured as bars, expected under the fit as a line.</summary>
    public static string BlockCounts(CalibrationResult result, string dir, string name = "blocks")
    {
        var plt = new Plot();
        var b = result.LowestVoltageBlocks!;
        double[] centers = b.BinStart.Select(s => s + (b.BinWidth - 1) / 2.0).ToArray();
        var bars = plt.Add.Bars(centers, b.MeasuredBlocks.Select(v => (double)v).ToArray());
        foreach (var bar in bars.Bars) bar.Size = b.BinWidth * 0.8;
        bars.Color = Colors.SteelBlue.WithAlpha(0.7);
        bars.LegendText = MeasuredBlocksLabel;
        var line = plt.Add.Scatter(centers, b.ExpectedBlocks);
        line.Color = Colors.Red;
        line.LineWidth = 2;
        line.MarkerSize = 5;
        line.LegendText = ExpectedBlocksLabel;
        plt.Title($"faults per block at {b.Point}{(b.Heldout ? " (held out)" : "")}: chi-square {b.ChiSquare:F1} on {b.DegreesOfFreedom} df");
        plt.XLabel(b.BinWidth == 1 ? "faults in the block" : $"faults in the block (bins of {b.BinWidth}, the last open-ended)");
        plt.YLabel($"blocks (of {result.Geometry.Blocks})");
        plt.Axes.Margins(bottom: 0);
        plt.ShowLegend(Alignment.UpperRight);
        return Save(plt, dir, name);
    }

    private static string Fmt(double v) => v.ToString("G4", CultureInfo.InvariantCulture);

    private static string Save(Plot plt, string dir, string name)
    {
        plt.SavePng(Path.Combine(dir, name + ".png"), Width, Height);
        plt.SaveSvg(Path.Combine(dir, name + ".svg"), Width, Height);
        return name + ".png";
    }
}
