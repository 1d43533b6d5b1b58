using HilBench.Calibration.Import;
using HilBench.Calibration.Measured;
using HilBench.Memory;
using HilBench.Memory.Geometry;

namespace HilBench.Calibration.Fit;

/// <summary>
/// Failing cells that share a stuck value, a signature (what each pattern stored at the cell) and the set of reads
/// they failed in. <see cref="Visible"/> are the reads where a cell of this kind could show its failure (stored
/// value differs from the stuck one); for flip-mode data every read. Value is 0 or 1 (stuck-at), -1 (flip).
/// </summary>
internal sealed record FailClass(int Value, int Signature, int[] Failed, int[] Visible);

/// <summary>The reads storing 1 (where a stuck-at-0 cell shows) and storing 0 (where a stuck-at-1 cell shows) at a signature.</summary>
internal sealed record SignatureReads(int[] StoringOne, int[] StoringZero);

/// <summary>Per block: counts of failing cells by class and of never-failing cells by signature.</summary>
internal sealed record BlockCells(int[] Classes, double[] ClassCounts, int[] Signatures, double[] NeverCounts);

/// <summary>
/// The sufficient statistics of the interval-censored likelihood: the reads that are fitted, and per block the
/// failing cells grouped by what they did and the cells that never failed grouped by what was stored there.
/// </summary>
internal sealed class FitData
{
    public required OperatingPoint[] Points { get; init; }

    public required bool Stuck { get; init; }

    public required FailClass[] Classes { get; init; }

    public required SignatureReads[] Signatures { get; init; }

    public required BlockCells[] Blocks { get; init; }

    /// <summary>Faults per read, after exclusions (failing cells seen in that read).</summary>
    public required long[] FaultsPerRead { get; init; }

    public required long[] OnesPerRead { get; init; }

    public required long[] ZerosPerRead { get; init; }

    /// <summary>Failing cells that read both 0 and 1 in different reads: a stuck cell cannot.</summary>
    public required long Inconsistent { get; init; }

    public static FitData Build(MemoryGeometry geometry, IReadOnlyList<MeasuredRead> reads, bool stuck, PatternStats stats, IReadOnlySet<long> excluded)
    {
        var patterns = stuck ? reads.Select(r => r.Pattern!).DistinctBy(p => p.Name).ToList() : [];
        if (patterns.Count > 8) throw new CalibrationFitException($"the fitted reads use {patterns.Count} different patterns; at most 8 are supported");
        var images = patterns.Select(stats.Image).ToList();
        int[] patternOf = reads.Select(r => stuck ? patterns.FindIndex(p => p.Name == r.Pattern!.Name) : 0).ToArray();
        int sigCount = 1 << images.Count;
        long bpb = geometry.BitsPerBlock;

        // Cells per block and signature, the excluded (weak-line) cells taken out.
        long[][] sigCounts = stuck ? stats.SignatureCounts(images) : Enumerable.Range(0, geometry.Blocks).Select(_ => new[] { bpb }).ToArray();
        foreach (long cell in excluded) sigCounts[cell / bpb][stuck ? PatternStats.Signature(images, cell) : 0]--;

        var signatureReads = new SignatureReads[stuck ? sigCount : 1];
        for (int s = 0; s < signatureReads.Length; s++)
        {
            var one = new List<int>();
            var zero = new List<int>();
            for (int r = 0; r < reads.Count; r++)
            {
                if (!stuck || (s >> patternOf[r] & 1) != 0) one.Add(r);
                if (!stuck || (s >> patternOf[r] & 1) == 0) zero.Add(r);
            }
            signatureReads[s] = new SignatureReads(one.ToArray(), zero.ToArray());
        }

        // Each failing cell: the reads it failed in and what it read there.
        var failing = new Dictionary<long, List<(int Read, bool? Value)>>();
        var faultsPerRead = new long[reads.Count];
        for (int r = 0; r < reads.Count; r++)
            foreach (var f in reads[r].Faults)
            {
                long cell = geometry.Cell(f.Block, f.Row, f.Bit);
                if (excluded.Contains(cell)) continue;
                if (!failing.TryGetValue(cell, out var list)) failing[cell] = list = [];
                list.Add((r, f.Read));
                faultsPerRead[r]++;
            }

        var classIndex = new Dictionary<string, int>();
        var classes = new List<FailClass>();
        var perBlock = new Dictionary<int, double>[geometry.Blocks];
        var failingBySig = new long[geometry.Blocks][];
        for (int b = 0; b < geometry.Blocks; b++)
        {
            perBlock[b] = [];
            failingBySig[b] = new long[signatureReads.Length];
        }
        long inconsistent = 0;
        foreach (var (cell, list) in failing)
        {
            int block = (int)(cell / bpb);
            int sig = stuck ? PatternStats.Signature(images, cell) : 0;
            int value = -1;
            int[] failed;
            int[] visible;
            if (stuck)
            {
                int zeros = list.Count(x => x.Value == false), ones = list.Count(x => x.Value == true);
                if (zeros > 0 && ones > 0) inconsistent++;
                value = zeros >= ones ? 0 : 1;
                bool v = value == 1;
                failed = list.Where(x => x.Value == v).Select(x => x.Read).Distinct().Order().ToArray();
                visible = value == 0 ? signatureReads[sig].StoringOne : signatureReads[sig].StoringZero;
            }
            else
            {
                failed = list.Select(x => x.Read).Distinct().Order().ToArray();
                visible = signatureReads[0].StoringOne;
            }
            string key = $"{value}|{sig}|{string.Join(",", failed)}";
            if (!classIndex.TryGetValue(key, out int c))
            {
                classIndex[key] = c = classes.Count;
                classes.Add(new FailClass(value, sig, failed, visible));
            }
            perBlock[block][c] = perBlock[block].GetValueOrDefault(c) + 1;
            failingBySig[block][sig]++;
        }

        var blocks = new BlockCells[geometry.Blocks];
        for (int b = 0; b < geometry.Blocks; b++)
        {
            var sigs = Enumerable.Range(0, signatureReads.Length).Where(s => sigCounts[b][s] - failingBySig[b][s] > 0).ToArray();
            blocks[b] = new BlockCells(perBlock[b].Keys.ToArray(), perBlock[b].Values.ToArray(), sigs, sigs.Select(s => (double)(sigCounts[b][s] - failingBySig[b][s])).ToArray());
        }

        // Stored ones and zeros per read over the fitted cells.
        var totals = new long[signatureReads.Length];
        foreach (var row in sigCounts)
            for (int s = 0; s < totals.Length; s++) totals[s] += row[s];
        var onesPerRead = new long[reads.Count];
        var zerosPerRead = new long[reads.Count];
        for (int r = 0; r < reads.Count; r++)
            for (int s = 0; s < totals.Length; s++)
                if (stuck && (s >> patternOf[r] & 1) != 0) onesPerRead[r] += totals[s];
                else zerosPerRead[r] += totals[s];

        return new FitData
        {
            Points = reads.Select(r => r.Point).ToArray(),
            Stuck = stuck,
            Classes = classes.ToArray(),
            Signatures = signatureReads,
            Blocks = blocks,
            FaultsPerRead = faultsPerRead,
            OnesPerRead = onesPerRead,
            ZerosPerRead = zerosPerRead,
            Inconsistent = inconsistent,
        };
    }
}
