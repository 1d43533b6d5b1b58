using System.Globalization;
using HilBench.Calibration.Measured;
using HilBench.Memory.Geometry;

namespace HilBench.Calibration.Fit;

/// <summary>
/// How nested the faults are: of the faults at one point, the share also present at every lower point of the
/// same sweep (same pattern, repeat and other dimensions). The emulator's faults are nested by construction, so
/// a low share means the profile will miss part of the behaviour.
/// </summary>
internal static class NestingAnalysis
{
    public static NestingFinding Analyse(MemoryGeometry geometry, IReadOnlyList<MeasuredRead> reads, ThresholdModel thresholds)
    {
        long faults = 0, nested = 0;
        int series = 0;
        foreach (var group in reads.GroupBy(r => $"{r.Pattern?.Name}|{r.Repeat}|{thresholds.SliceKey(r.Point)}"))
        {
            // Highest threshold first: each later read fails at least the cells of the earlier ones.
            var sweep = group.OrderByDescending(r => thresholds.Swept(r.Point)).ToList();
            if (sweep.Count < 2) continue;
            series++;
            var sets = sweep.Select(r => r.Faults.Select(f => geometry.Cell(f.Block, f.Row, f.Bit)).ToHashSet()).ToList();
            for (int i = 0; i < sets.Count - 1; i++)
                foreach (long cell in sets[i])
                {
                    faults++;
                    bool all = true;
                    for (int j = i + 1; j < sets.Count && all; j++) all = sets[j].Contains(cell);
                    if (all) nested++;
                }
        }
        if (series == 0)
            return new NestingFinding(0, 0, double.NaN, 0, "no sweep with two or more points of the same pattern: nesting cannot be checked");
        if (faults == 0)
            return new NestingFinding(0, 0, double.NaN, series, "no faults above the lowest point of any sweep: nesting cannot be checked");
        double share = (double)nested / faults;
        string note = share >= Calibrator.NestedShare
            ? "faults are nested, as the model assumes"
            : $"only {share.ToString("P1", CultureInfo.InvariantCulture)} of the faults recur at every lower point; the emulator's faults are always nested, so the profile overstates how persistent they are";
        return new NestingFinding(faults, nested, share, series, note);
    }
}
