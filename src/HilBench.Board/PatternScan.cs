using System.Diagnostics;
using HilBench.Board.Protocol;
using HilBench.Memory;
using HilBench.Memory.Backends;

namespace HilBench.Board;

/// <summary>One operating point of a pattern scan: the cells that read wrong, what the board measured, what it cost.</summary>
/// <param name="Cells">Bit addresses (cells) that read the complement of the pattern, ascending.</param>
/// <param name="Read">The value each of those cells read, in the same order.</param>
public sealed record ScanPoint(OperatingPoint Point, BoardOperatingPoint Applied, long[] Cells, bool[] Read, long ComparedBits,
    Telemetry Telemetry, WireStatistics Wire, TimeSpan Elapsed)
{
    public double BitErrorRate => ComparedBits == 0 ? 0 : (double)Cells.Length / ComparedBits;
}

/// <summary>
/// The measurement behind <c>hilbench board compare</c> and board calibration: fill a range with a known
/// pattern at the nominal point, lower the operating point, COMPARE against the pattern (only the differing
/// bits cross the link), read telemetry and return to nominal, whatever happens.
/// </summary>
public static class PatternScan
{
    /// <summary>
    /// Writes the pattern over the range (once; a destructive board gets it again after every point). Telemetry comes
    /// first, so the client knows when the board booted and a restart before the first point shows in its telemetry.
    /// </summary>
    public static void Prepare(BoardClient client, long address, long length, byte[] pattern, CancellationToken cancel = default)
    {
        client.LearnBootTime(cancel);
        client.RestoreNominal(cancel);
        client.Fill(address, length, pattern, cancel);
    }

    /// <summary>
    /// Measures one point; the range must hold the pattern (see <see cref="Prepare"/>). The board returns to nominal
    /// (and a destructive one gets the pattern back) even when <paramref name="cancel"/> fires; a cancellation that
    /// comes after the read still returns the read, and the next request sees it.
    /// </summary>
    public static ScanPoint Measure(BoardClient client, OperatingPoint point, long address, long length, byte[] pattern, CancellationToken cancel = default)
    {
        var target = client.ToBoardPoint(point);
        cancel.ThrowIfCancellationRequested(); // before the board leaves nominal, so there is nothing to undo
        var before = client.Statistics;
        var clock = Stopwatch.StartNew();
        BoardOperatingPoint applied;
        long[] cells;
        Telemetry telemetry;
        bool measured = false, linkLost = false;
        try
        {
            applied = client.SetOperatingPoint(target, cancel);
            cells = client.Compare(address, length, pattern, cancel);
            telemetry = client.GetTelemetry(cancel);
            measured = true;
        }
        catch (MemoryBackendException e)
        {
            // A lost link: the board's lease takes it back to nominal. A board that lost its point or restarted still
            // answers, and may have been set again since.
            linkLost = e.InnerException is not BoardStateLostException;
            throw;
        }
        finally
        {
            if (!linkLost) client.RestoreNominalAfterMeasuring(anotherFailureLeaving: !measured);
        }
        // The point is measured: a cancellation now must not leave a destructive board without its pattern.
        if (client.Board.Has(BoardCapabilities.Destructive)) client.Fill(address, length, pattern, CancellationToken.None);
        var read = new bool[cells.Length];
        for (int i = 0; i < cells.Length; i++)
        {
            long offset = (cells[i] >> 3) - address;
            read[i] = (pattern[(int)(offset % pattern.Length)] >> (int)(cells[i] & 7) & 1) == 0;
        }
        return new ScanPoint(point, applied, cells, read, length * 8, telemetry, client.Statistics - before, clock.Elapsed);
    }

    /// <summary>
    /// The whole measurement: the pattern written once, then every point <paramref name="repeats"/> times in the given order.
    /// Each read goes into <paramref name="scans"/> (as repeat k, or null with one read per point) and to <paramref name="measured"/>
    /// at once, so a caller can save it before the next read; if a read fails, what was measured is still in the list.
    /// </summary>
    public static void Run(BoardClient client, IReadOnlyList<OperatingPoint> points, int repeats, long address, long length, byte[] pattern,
        List<(ScanPoint Scan, int? Repeat)> scans, Action<ScanPoint, int>? measured = null, CancellationToken cancel = default)
    {
        Prepare(client, address, length, pattern, cancel);
        foreach (var point in points)
            for (int k = 0; k < repeats; k++)
            {
                var scan = Measure(client, point, address, length, pattern, cancel);
                scans.Add((scan, repeats > 1 ? k : null));
                measured?.Invoke(scan, k);
            }
    }

    /// <summary>
    /// The points as a fault map, one read per point, for --replay and calibration. A point read more than once (with
    /// repeats, or listed twice) has its reads numbered as trials 0, 1, ... in the order they were taken; a point read
    /// once has no trial, unless it is repeat 0 of repeats.
    /// </summary>
    public static FaultMap ToFaultMap(BoardDescription board, IReadOnlyList<(ScanPoint Scan, int? Repeat)> scans, string description)
    {
        var g = board.Geometry;
        var times = scans.GroupBy(s => s.Scan.Point.ToString()).ToDictionary(p => p.Key, p => (Count: p.Count(), Repeats: p.Any(s => s.Repeat is not null)));
        var taken = new Dictionary<string, int>();
        var reads = new RecordedRead[scans.Count];
        for (int i = 0; i < scans.Count; i++)
        {
            var s = scans[i];
            string key = s.Scan.Point.ToString();
            int occurrence = taken.GetValueOrDefault(key);
            taken[key] = occurrence + 1;
            int? trial = times[key].Count > 1 || times[key].Repeats ? occurrence : null;
            reads[i] = new RecordedRead(s.Scan.Point, trial,
                s.Scan.Cells.Select((c, k) => { var a = g.Address(c); return new RecordedFault(a.Block, a.Row, a.Bit, s.Scan.Read[k]); }).ToArray());
        }
        return new FaultMap(g, reads, description);
    }
}
