using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using HilBench.Calibration.Measured;
using HilBench.Calibration.Report;
using HilBench.Memory;
using HilBench.Memory.Geometry;
using HilBench.Memory.Profiles;
using MathNet.Numerics.Distributions;

namespace HilBench.Calibration.Fit;

/// <summary>
/// Fits a device profile to measured fault maps. The steps, each on the reads not held out:
/// 1. transient part from repeated reads (if any);
/// 2. weak bitlines and wordlines, tested at the point with the most faults; flagged lines leave the next step;
/// 3. critical-value mean and sigma, stuck-at polarity, temperature coefficient (and for DRAM the voltage
///    sensitivity), jointly with each block-offset model (none, normal, two-class) by maximum likelihood;
///    AIC picks the offset model;
/// 4. the weak lines' strength, given the fitted cells;
/// then the profile is written, read back through <see cref="DeviceProfile.Parse"/>, and every measured point
/// (held-out ones too) is compared with what it predicts.
/// </summary>
public static class Calibrator
{
    private const double VoltageTolerance = 1e-6;

    public static CalibrationResult Fit(MeasuredMaps maps, CalibrationOptions? options = null)
    {
        options ??= new CalibrationOptions();
        var clock = Stopwatch.StartNew();
        var g = maps.Geometry;
        var notes = new List<string>();
        if (maps.Reads.Count == 0) throw new CalibrationInputException("no measured reads (empty input): give dumps, fault lists, a fault map or a manifest");

        // Technology and nominal point.
        bool dram = maps.Reads.Any(r => r.Point.TRcdNs is not null);
        if (dram && maps.Reads.FirstOrDefault(r => r.Point.TRcdNs is null) is { } without)
            throw new CalibrationInputException($"{without.Source}: {without.Point} has no tRCD while other points do; give every DRAM point its tRCD");
        var technology = dram ? Technology.Dram : Technology.Sram;
        double vNom = options.NominalVoltage ?? maps.Reads.Max(r => r.Point.Voltage);
        var temperatures = maps.Reads.Select(r => r.Point.TemperatureC).Distinct().Order().ToArray();
        double tNom = options.NominalTemperature ?? (temperatures[0] <= OperatingPoint.RoomTemperature && temperatures[^1] >= OperatingPoint.RoomTemperature
            ? OperatingPoint.RoomTemperature : temperatures[0]);
        double? trcdNom = dram ? options.NominalTRcd ?? maps.Reads.Max(r => r.Point.TRcdNs!.Value) : null;
        var nominal = new OperatingPoint(vNom, trcdNom, tNom);
        CheckNominal(maps, options, nominal);
        var thresholds = new ThresholdModel(technology, nominal);

        // Held-out points.
        foreach (double h in options.HoldoutVoltages)
            if (!maps.Reads.Any(r => Math.Abs(r.Point.Voltage - h) < VoltageTolerance))
                throw new CalibrationInputException(
                    $"holdout voltage {h.ToString(CultureInfo.InvariantCulture)} V (--holdout) was not measured; measured: {string.Join(", ", maps.Reads.Select(r => r.Point.Voltage).Distinct().Order().Select(v => v.ToString(CultureInfo.InvariantCulture)))} V");
        bool Heldout(OperatingPoint op) => options.HoldoutVoltages.Any(h => Math.Abs(op.Voltage - h) < VoltageTolerance);
        var fitReads = maps.Reads.Where(r => !Heldout(r.Point)).ToList();
        if (fitReads.Count == 0) throw new CalibrationFitException("every measured point is held out; nothing is left to fit");
        // The curve is fitted to one read per point and pattern (the lowest repeat); further repeats inform the transient part.
        var primary = fitReads.GroupBy(r => $"{r.Point}|{r.Pattern?.Name}").Select(grp => grp.MinBy(r => r.Repeat)!).ToList();

        bool stuck = fitReads.All(r => r.Pattern is not null && r.Faults.All(f => f.Read is not null));
        if (!stuck)
            notes.Add("the written data or the read values are unknown for some reads, so failing cells cannot be told from the data they hold: " +
                      "every failing cell is taken to give a wrong bit and the profile uses polarity mode \"flip\"");

        // Which dimensions vary. A dimension with one value cannot be fitted; its coefficient stays fixed.
        int sweptValues = primary.Select(r => thresholds.Swept(r.Point)).Distinct().Count();
        string sweptName = dram ? "tRCD" : "voltage";
        if (sweptValues < 2)
            throw new CalibrationFitException($"the fitted reads span one {sweptName} only ({thresholds.Swept(primary[0].Point).ToString(CultureInfo.InvariantCulture)}); " +
                                              $"the critical-value mean and sigma need at least two {sweptName}s");
        var fitTemps = primary.Select(r => r.Point.TemperatureC).Distinct().ToArray();
        bool fitTemperature = fitTemps.Length >= 2;
        if (!fitTemperature)
            notes.Add($"one temperature ({fitTemps[0].ToString(CultureInfo.InvariantCulture)} C): the temperature coefficient is not fitted (kept at 0) and the profile's temperature range is that temperature");
        var fitVolts = primary.Select(r => r.Point.Voltage).Distinct().ToArray();
        bool fitVoltageSensitivity = dram && fitVolts.Length >= 2;
        if (dram && !fitVoltageSensitivity)
            notes.Add($"one voltage ({fitVolts[0].ToString(CultureInfo.InvariantCulture)} V): the DRAM voltage sensitivity is not fitted (kept at 0)");

        // 1. Transient part.
        var transient = TransientAnalysis.Analyse(g, fitReads);
        double readShare = transient.Estimated ? 1 - transient.Share + transient.Share * transient.ReadFailureProbability : 1;

        // Polarity: which failures can show at all.
        var stats = new PatternStats(g);
        bool oneVisible = stuck && primary.Any(r => stats.OnesPerBlock(r.Pattern!).Sum() > 0);
        bool zeroVisible = stuck && primary.Any(r => stats.OnesPerBlock(r.Pattern!).Sum() < g.TotalBits);
        bool fitS0 = oneVisible && zeroVisible;
        double s0Start = StuckShareStart(primary, stats, g, fitS0, options.AssumedStuckAtZeroShare);

        // 2. Weak lines, at the point with the most faults.
        var busiest = primary.GroupBy(r => r.Point.ToString()).MaxBy(grp => grp.Sum(r => r.Faults.Count))!.ToList();
        var busiestImages = stuck ? busiest.Select(r => stats.Image(r.Pattern!)).ToList() : [];
        var none = new HashSet<long>();
        var (bitWeights, wordWeights) = WeakLineAnalysis.LineWeights(g, busiestImages, stuck, s0Start, none);
        var bitlines = WeakLineAnalysis.Analyse("bitlines", busiest[0].Point, g, busiest, bitWeights, none, options.SignificanceLevel, options.Seed);
        // Faults on weak bitlines would blur the wordline test: it runs on the other cells.
        var excluded = new HashSet<long>();
        foreach (var (block, bit) in bitlines.Flagged)
            for (int row = 0; row < g.RowsPerBlock; row++) excluded.Add(g.Cell(block, row, bit));
        if (excluded.Count > 0) (_, wordWeights) = WeakLineAnalysis.LineWeights(g, busiestImages, stuck, s0Start, excluded);
        var wordlines = WeakLineAnalysis.Analyse("wordlines", busiest[0].Point, g, busiest, wordWeights, excluded, options.SignificanceLevel, options.Seed + 1);
        foreach (var (block, row) in wordlines.Flagged)
            for (int bit = 0; bit < g.BitsPerRow; bit++) excluded.Add(g.Cell(block, row, bit));

        // 3. Critical values with each block-offset model.
        var data = FitData.Build(g, primary, stuck, stats, excluded);
        if (data.FaultsPerRead.Sum() == 0) throw new CalibrationFitException("the fitted reads hold no faults at all: nothing to fit (measure at lower voltages)");
        var likelihood = new CriticalValueLikelihood(data, thresholds, readShare);
        var (meanStart, sigmaStart) = ProbitStart(data, primary, thresholds, s0Start, readShare, sweptName);
        ParameterSpace Space(Heterogeneity kind) => new()
        {
            FitStuckShare = fitS0,
            FitTemperature = fitTemperature,
            FitVoltageSensitivity = fitVoltageSensitivity,
            Kind = kind,
            Technology = technology,
            Fixed = new ModelParameters(meanStart, sigmaStart, s0Start, 0, 0, kind, 0, 0, 0),
            Scale = sigmaStart,
            MeanScale = meanStart,
            TemperatureSpan = fitTemperature ? fitTemps.Max() - fitTemps.Min() : 1,
            VoltageSpan = fitVoltageSensitivity ? fitVolts.Max() - fitVolts.Min() : 1,
        };
        var start = new ModelParameters(meanStart, sigmaStart, s0Start, 0, 0, Heterogeneity.None, 0, 0, 0);
        var plain = CurveFit.Fit(likelihood, Space(Heterogeneity.None), [start]);
        var p0 = plain.Parameters;
        // Offsets split the spread the fit without them found: start with sigma^2 + sigma_b^2 unchanged.
        double total = p0.Sigma;
        var normal = CurveFit.Fit(likelihood, Space(Heterogeneity.Normal),
        [
            p0 with { Kind = Heterogeneity.Normal, Sigma = total * Math.Sqrt(1 - 0.09), BlockSigma = 0.3 * total },
            p0 with { Kind = Heterogeneity.Normal, Sigma = total * 0.8, BlockSigma = 0.6 * total },
        ]);
        var twoClass = CurveFit.Fit(likelihood, Space(Heterogeneity.TwoClass),
        [
            p0 with { Kind = Heterogeneity.TwoClass, WeakShare = 0.1, WeakOffset = 1.5 * total },
            p0 with { Kind = Heterogeneity.TwoClass, WeakShare = 0.02, WeakOffset = 3 * total },
            p0 with { Kind = Heterogeneity.TwoClass, WeakShare = 0.3, WeakOffset = 0.7 * total },
        ]);
        var candidates = new[] { plain, normal, twoClass };
        var selected = candidates.MinBy(c => c.Aic)!;
        double bestAic = selected.Aic;
        var models = candidates.Select(c => new ModelCandidate(Label(c.Kind), c.ParameterCount, c.LogLikelihood, c.Aic, c.Aic - bestAic, ReferenceEquals(c, selected), c.Describe())).ToList();
        var fit = selected.Parameters;
        notes.AddRange(selected.Problems.Select(problem => $"fit check, {Label(selected.Kind)} (the model AIC chose): {problem}"));
        if (selected.SeveralMaxima is { } maxima) notes.Add($"{Label(selected.Kind)}: {maxima}");
        foreach (var other in candidates.Where(c => c != selected && !c.Converged))
            notes.Add($"fit check: the fit with {Label(other.Kind)} did not converge, so AIC may have compared against a worse likelihood than that model can reach");

        // 4. Weak-line strengths from their rate ratio, given the fitted cells at the busiest point.
        double busiestThreshold = thresholds.At(busiest[0].Point, fit.TemperatureCoefficient, fit.VoltageSensitivity);
        var bitFinding = WithStrength(bitlines.Finding, fit, busiestThreshold);
        var wordFinding = WithStrength(wordlines.Finding, fit, busiestThreshold);

        // Polarity finding.
        long k10 = fitReads.Sum(r => r.OneToZero), k01 = fitReads.Sum(r => r.ZeroToOne);
        int s0Index = selected.Space.Names.ToList().FindIndex(n => n.Name == "polarity.stuckAtZeroShare");
        string polarityNote = !stuck ? "polarity not estimated: the written data or read values are unknown"
            : fitS0 ? "both polarities visible: the stuck-at-0 share is fitted jointly with the critical values"
            : oneVisible ? $"only 1->0 faults can show (the pattern stores only ones): the stuck-at-0 share cannot be estimated and is set to {options.AssumedStuckAtZeroShare.ToString(CultureInfo.InvariantCulture)}; mean and sigma describe cells whose failure shows under that assumption. Measure with a checkerboard or also with 0x0000 to estimate it"
            : $"only 0->1 faults can show (the pattern stores only zeros): the stuck-at-0 share cannot be estimated and is set to {options.AssumedStuckAtZeroShare.ToString(CultureInfo.InvariantCulture)}. Measure with a checkerboard or also with 0xFFFF to estimate it";
        var polarity = new PolarityFinding(oneVisible, zeroVisible, fitS0, stuck ? fit.StuckAtZeroShare : double.NaN, s0Index >= 0 ? selected.StandardErrors[s0Index] : double.NaN,
            k10, k01, stuck ? FailureMode.Stuck : FailureMode.Flip, polarityNote);
        if (stuck && data.Inconsistent > 0)
            notes.Add($"{data.Inconsistent} failing cells read 0 in some reads and 1 in others, which a stuck cell cannot; each was counted with the value it read most often");
        if (transient.Estimated == false && transient.MaxRepeats >= 2) notes.Add(transient.Note);
        if (!transient.Converged) notes.Add($"fit check, transient part: {transient.Note}");

        var nesting = NestingAnalysis.Analyse(g, maps.Reads, thresholds);

        // The profile.
        var vRange = options.VoltageRange ?? new ValueRange(maps.Reads.Min(r => r.Point.Voltage), Math.Max(vNom, maps.Reads.Max(r => r.Point.Voltage)));
        var tRange = new ValueRange(Math.Min(temperatures[0], tNom), Math.Max(temperatures[^1], tNom));
        ValueRange? trcdRange = dram ? new ValueRange(maps.Reads.Min(r => r.Point.TRcdNs!.Value), Math.Max(trcdNom!.Value, maps.Reads.Max(r => r.Point.TRcdNs!.Value))) : null;
        var parameters = Parameters(selected, bitFinding, wordFinding, transient, fitS0, stuck, fitTemperature, dram, fitVoltageSensitivity);
        string date = (options.Date ?? DateOnly.FromDateTime(DateTime.UtcNow)).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        string method = Method(selected.Kind);
        var draft = new DeviceProfile
        {
            Name = options.Name,
            Technology = technology,
            Description = options.Description ?? $"Calibrated from {maps.Reads.Count} measured reads of a {g} memory" + (maps.Description != "" ? $" ({maps.Description})" : "") + ".",
            Provenance = new Provenance(Source(maps), method, "(filled below)", date),
            Geometry = g,
            Nominal = nominal,
            VoltageRange = vRange,
            TRcdRange = trcdRange,
            TemperatureRange = tRange,
            Cells = new CellParameters(fit.Mean, fit.Sigma, fit.TemperatureCoefficient, fit.VoltageSensitivity),
            BlockOffsets = fit.Offsets,
            WeakBitlines = bitFinding.Significant ? new WeakLines(bitFinding.Fraction, bitFinding.Strength) : WeakLines.None,
            WeakWordlines = wordFinding.Significant ? new WeakLines(wordFinding.Fraction, wordFinding.Strength) : WeakLines.None,
            Polarity = stuck ? new Polarity(FailureMode.Stuck, fit.StuckAtZeroShare) : new Polarity(FailureMode.Flip),
            Transient = transient.Estimated && transient.Share > 0 ? new TransientPart(transient.Share, transient.ReadFailureProbability) : TransientPart.None,
            ChipSeed = 1,
            Origin = options.Name,
        };

        // Every point against the prediction.
        var prediction = new ProfilePrediction(draft, stats);
        var points = maps.Reads.GroupBy(r => r.Point.ToString())
            .Select(grp => PointFitOf(grp.ToList(), Heldout(grp.First().Point), prediction, stats, g))
            .OrderBy(p => p.Point.TemperatureC).ThenBy(p => p.Point.Voltage).ThenBy(p => p.Point.TRcdNs ?? 0)
            .ToList();
        var blocks = LowestPointBlocks(maps.Reads, Heldout, prediction, g);

        notes.AddRange(FitChecks(points, nesting));
        string quality = Quality(parameters, models, points, blocks);
        var profileWithQuality = draft with { Provenance = draft.Provenance with { Quality = quality } };
        var calibration = CalibrationSection(maps, method, date, parameters, models, points, polarity, nesting, transient, bitFinding, wordFinding, notes, options);
        string json = ProfileWriter.Compose(profileWithQuality, calibration);
        if (draft.Model.WeakCellsAtWorstCorner > CellFailureModel.MaxWeakCells)
            throw new CalibrationFitException(
                $"the fitted profile fails {draft.Model.WeakCellsAtWorstCorner.ToString("G3", CultureInfo.InvariantCulture)} cells at {draft.WorstPoint()}, the harshest point its ranges " +
                $"(from the measurements) must cover, more than the {CellFailureModel.MaxWeakCells / 1_000_000} million weak cells the emulator holds; " +
                "leave out the reads at the harshest points, keeping those down to where the memory is still usable");
        DeviceProfile profile;
        try
        {
            profile = DeviceProfile.Parse(json, options.Name);
        }
        catch (ProfileException e)
        {
            throw new CalibrationFitException($"the fitted profile is not usable by the emulator: {e.Message}");
        }

        return new CalibrationResult
        {
            Profile = profile,
            ProfileJson = json,
            Options = options,
            Geometry = g,
            Inputs = maps.Inputs,
            Method = method,
            Date = date,
            Parameters = parameters,
            Models = models,
            Points = points,
            LowestVoltageBlocks = blocks,
            Bitlines = bitFinding,
            Wordlines = wordFinding,
            Polarity = polarity,
            Nesting = nesting,
            Transient = transient,
            Notes = notes,
            Elapsed = clock.Elapsed,
        };
    }

    /// <summary>
    /// Refuses a nominal point the profile's ranges (spanned by the measurements and the nominal point) could not hold,
    /// before any fitting, naming the option to change.
    /// </summary>
    private static void CheckNominal(MeasuredMaps maps, CalibrationOptions options, OperatingPoint nominal)
    {
        static string F(double v) => v.ToString(CultureInfo.InvariantCulture);
        double lowest = maps.Reads.Min(r => r.Point.Voltage), highest = maps.Reads.Max(r => r.Point.Voltage);
        if (!(nominal.Voltage > 0))
            throw new CalibrationInputException($"the nominal voltage (--nominal-voltage) must be positive, got {F(nominal.Voltage)} V");
        if (options.VoltageRange is { } range && !range.Contains(nominal.Voltage))
            throw new CalibrationInputException($"the nominal voltage {F(nominal.Voltage)} V lies outside the voltage range {range} V given for the profile; widen the range or change the nominal voltage (--nominal-voltage)");
        if (options.VoltageRange is null && nominal.Voltage < lowest)
            throw new CalibrationInputException(
                $"the nominal voltage {F(nominal.Voltage)} V (--nominal-voltage) lies below the lowest measured voltage {F(lowest)} V, but it is the memory's specified supply, " +
                $"above the undervolted points: give the specified voltage, or leave --nominal-voltage out to use the highest measured one ({F(highest)} V)");
        if (nominal.TRcdNs is { } trcd && trcd < maps.Reads.Min(r => r.Point.TRcdNs!.Value))
            throw new CalibrationInputException(
                $"the nominal tRCD {F(trcd)} ns (CalibrationOptions.NominalTRcd) lies below the shortest measured tRCD {F(maps.Reads.Min(r => r.Point.TRcdNs!.Value))} ns; " +
                "give the datasheet tRCD, or leave it out to use the longest measured one");
    }

    /// <summary>Held-out points predicted to no better than this factor are flagged.</summary>
    public const double HeldoutFactorLimit = 1.5;

    /// <summary>Faults are called nested (as the emulator makes them) when at least this share recurs at every lower point.</summary>
    public const double NestedShare = 0.95;

    /// <summary>
    /// Warnings about how well the profile describes the measurements: held-out points predicted badly, a deviance
    /// far above what chance gives (the chi-square 99.9% point with one degree of freedom per fitted point, which is
    /// generous since the fit used some of them), and faults that are not nested.
    /// </summary>
    private static IEnumerable<string> FitChecks(IReadOnlyList<PointFit> points, NestingFinding nesting)
    {
        static string F(double v) => v.ToString("G3", CultureInfo.InvariantCulture);
        foreach (var p in points.Where(p => p.Heldout && p.Factor > HeldoutFactorLimit))
            yield return $"fit check: the held-out point {p.Point} is predicted {(double.IsFinite(p.Factor) ? F(p.Factor) + " times" : "infinitely")} " +
                         $"{(p.Ratio > 1 ? "too high" : "too low")} (limit {F(HeldoutFactorLimit)}): the profile does not extrapolate to it; measure closer to it or do not rely on the profile there";
        var fitted = points.Where(p => !p.Heldout).ToList();
        double deviance = fitted.Sum(p => p.Deviance);
        if (fitted.Count > 0 && deviance > ChiSquared.InvCDF(fitted.Count, 0.999))
            yield return $"fit check: the deviance {F(deviance)} over {fitted.Count} fitted points is far larger than chance gives (about {fitted.Count}): " +
                         "the model does not describe how the fault count changes between the points; see the measured against fitted table";
        if (nesting.Share < NestedShare)
            yield return $"fit check: {nesting.Note}";
    }

    private static string Label(Heterogeneity kind) => kind switch
    {
        Heterogeneity.Normal => "normal block offsets",
        Heterogeneity.TwoClass => "two-class block offsets",
        _ => "no block offsets",
    };

    /// <summary>The stuck-at-0 share from the fault counts: 1->0 faults per stored one against 0->1 faults per stored zero.</summary>
    private static double StuckShareStart(IReadOnlyList<MeasuredRead> reads, PatternStats stats, MemoryGeometry g, bool both, double assumed)
    {
        if (!both) return assumed;
        double perOne = 0, perZero = 0;
        foreach (var r in reads)
        {
            long ones = stats.OnesPerBlock(r.Pattern!).Sum(), zeros = g.TotalBits - ones;
            if (ones > 0) perOne += (double)r.OneToZero / ones;
            if (zeros > 0) perZero += (double)r.ZeroToOne / zeros;
        }
        return perOne + perZero > 0 ? Math.Clamp(perOne / (perOne + perZero), 0.02, 0.98) : 0.5;
    }

    /// <summary>
    /// Starting mean and sigma from a probit line through the failing shares of one slice (points that differ only
    /// along the swept dimension): threshold = mean + sigma * Qinv(share).
    /// </summary>
    private static (double Mean, double Sigma) ProbitStart(FitData data, IReadOnlyList<MeasuredRead> reads, ThresholdModel thresholds, double s0, double readShare, string sweptName)
    {
        var slices = Enumerable.Range(0, reads.Count).GroupBy(r => thresholds.SliceKey(reads[r].Point))
            .OrderByDescending(s => s.Select(r => thresholds.Swept(reads[r].Point)).Distinct().Count()).ThenByDescending(s => s.Sum(r => data.FaultsPerRead[r]));
        foreach (var slice in slices)
        {
            var points = new List<(double Threshold, double Z, double Weight)>();
            foreach (var op in slice.GroupBy(r => thresholds.Swept(reads[r].Point)))
            {
                double k = op.Sum(r => (double)data.FaultsPerRead[r]);
                double atRisk = op.Sum(r => data.Stuck ? s0 * data.OnesPerRead[r] + (1 - s0) * data.ZerosPerRead[r] : data.OnesPerRead[r] + data.ZerosPerRead[r]);
                double share = k / (atRisk * readShare);
                if (k > 0 && share < 0.5) points.Add((thresholds.At(reads[op.First()].Point, 0, 0), CellFailureModel.UpperTailInverse(share), Math.Sqrt(k)));
            }
            if (points.Count < 2) continue;
            double sw = points.Sum(p => p.Weight), mz = points.Sum(p => p.Weight * p.Z) / sw, mt = points.Sum(p => p.Weight * p.Threshold) / sw;
            double sxx = points.Sum(p => p.Weight * (p.Z - mz) * (p.Z - mz)), sxy = points.Sum(p => p.Weight * (p.Z - mz) * (p.Threshold - mt));
            double sigma = sxy / sxx;
            if (sxx > 0 && sigma > 0) return (mt - sigma * mz, sigma);
        }
        throw new CalibrationFitException($"faults do not grow along {sweptName} in the fitted reads (fewer than two points with faults, or fewer faults at the harsher point); " +
                                          $"the critical-value distribution needs faults at two or more {sweptName}s");
    }

    /// <summary>The weak-line strength s whose rate ratio over ordinary cells, averaged over block offsets, matches the fitted one.</summary>
    private static LineFinding WithStrength(LineFinding finding, ModelParameters p, double threshold)
    {
        if (!finding.Significant || finding.RateRatio <= 1) return finding;
        var offsets = p.Offsets;
        double Rate(double shift) => CellFailureModel.MarginalTail(threshold - shift, p.Mean, p.Sigma, offsets);
        double ordinary = Rate(0), lo = 0, hi = 30 * p.Sigma;
        for (int i = 0; i < 100; i++)
        {
            double mid = 0.5 * (lo + hi);
            if (Rate(mid) / ordinary < finding.RateRatio) lo = mid; else hi = mid;
        }
        return finding with { Strength = 0.5 * (lo + hi) };
    }

    private static IReadOnlyList<FittedParameter> Parameters(CurveFitResult selected, LineFinding bitlines, LineFinding wordlines, TransientFinding transient,
        bool fitS0, bool stuck, bool fitTemperature, bool dram, bool fitVoltageSensitivity)
    {
        var list = new List<FittedParameter>();
        var names = selected.Space.Names;
        var natural = selected.Space.ToNatural(selected.Parameters);
        for (int i = 0; i < names.Count; i++) list.Add(new FittedParameter(names[i].Name, natural[i], selected.StandardErrors[i], names[i].Unit, true));
        var p = selected.Parameters;
        if (!fitS0 && stuck)
            list.Add(new FittedParameter("polarity.stuckAtZeroShare", p.StuckAtZeroShare, double.NaN, "", false, "one polarity visible: assumed"));
        if (!fitTemperature)
            list.Add(new FittedParameter("cells.temperatureCoefficient", 0, double.NaN, dram ? "1/C" : "V/C", false, "one temperature measured"));
        if (dram && !fitVoltageSensitivity)
            list.Add(new FittedParameter("cells.voltageSensitivity", 0, double.NaN, "1/V", false, "one voltage measured"));
        string unit = dram ? "ns" : "V";
        list.Add(new FittedParameter("weakBitlines.fraction", bitlines.Significant ? bitlines.Fraction : 0, double.NaN, "", bitlines.Significant, bitlines.Significant ? "" : "not significant"));
        list.Add(new FittedParameter("weakBitlines.strength", bitlines.Significant ? bitlines.Strength : 0, double.NaN, unit, bitlines.Significant, bitlines.Significant ? "" : "not significant"));
        list.Add(new FittedParameter("weakWordlines.fraction", wordlines.Significant ? wordlines.Fraction : 0, double.NaN, "", wordlines.Significant, wordlines.Significant ? "" : "not significant"));
        list.Add(new FittedParameter("weakWordlines.strength", wordlines.Significant ? wordlines.Strength : 0, double.NaN, unit, wordlines.Significant, wordlines.Significant ? "" : "not significant"));
        list.Add(new FittedParameter("transient.share", transient.Estimated ? transient.Share : 0, transient.ShareError, "", transient.Estimated, transient.Estimated ? "" : "not estimable"));
        list.Add(new FittedParameter("transient.readFailureProbability", transient.Estimated ? transient.ReadFailureProbability : 1, transient.ReadFailureError, "", transient.Estimated, transient.Estimated ? "" : "not estimable"));
        return list;
    }

    private static PointFit PointFitOf(IReadOnlyList<MeasuredRead> reads, bool heldout, ProfilePrediction prediction, PatternStats stats, MemoryGeometry g)
    {
        double ones = reads.Average(r => r.Pattern is null ? 0.5 : (double)stats.OnesPerBlock(r.Pattern).Sum() / g.TotalBits);
        long bits = reads.Count * g.TotalBits;
        long faults = reads.Sum(r => (long)r.Faults.Count);
        var (mean, variance) = prediction.Moments(reads);
        var (lo, hi) = ProfilePrediction.CountInterval(mean, variance);
        var (mlo, mhi) = ProfilePrediction.PoissonInterval(faults);
        double chi = variance > 0 ? (faults - mean) * (faults - mean) / variance : 0;
        double deviance = mean > 0 ? 2 * ((faults > 0 ? faults * Math.Log(faults / mean) : 0) - (faults - mean)) : 0;
        return new PointFit(reads[0].Point, heldout, reads.Count, bits, faults, reads.Sum(r => r.OneToZero), reads.Sum(r => r.ZeroToOne),
            (double)faults / bits, mlo / bits, mhi / bits, mean / bits, lo / bits, hi / bits, mean, chi, deviance, ones);
    }

    /// <summary>Faults per block at the lowest measured voltage (one read per pattern), measured against the fit.</summary>
    private static BlockCountFit? LowestPointBlocks(IReadOnlyList<MeasuredRead> all, Func<OperatingPoint, bool> heldout, ProfilePrediction prediction, MemoryGeometry g)
    {
        double vMin = all.Min(r => r.Point.Voltage);
        var at = all.Where(r => r.Point.Voltage == vMin).GroupBy(r => r.Point.ToString()).MaxBy(grp => grp.Sum(r => r.Faults.Count))!;
        var reads = at.GroupBy(r => r.Pattern?.Name).Select(grp => grp.MinBy(r => r.Repeat)!).ToList();
        var perBlock = new long[g.Blocks];
        foreach (var r in reads)
            foreach (var f in r.Faults) perBlock[f.Block]++;
        int maxMeasured = (int)perBlock.Max();
        var expectedFine = prediction.BlockHistogram(reads, Math.Max(maxMeasured + 2, 10) * 2);
        // The histogram reaches a little past both the largest count seen and where the fit expects blocks.
        int maxK = maxMeasured + 1;
        while (maxK + 1 < expectedFine.Length - 1 && expectedFine[(maxK + 1)..].Sum() > 0.5) maxK++;
        int width = maxK <= 40 ? 1 : (int)Math.Ceiling((maxK + 1) / 30.0);
        int bins = (maxK + width) / width;
        var measured = new long[bins];
        var expected = new double[bins];
        var starts = Enumerable.Range(0, bins).Select(i => i * width).ToArray();
        foreach (long k in perBlock) measured[Math.Min((int)(k / width), bins - 1)]++;
        for (int k = 0; k < expectedFine.Length; k++) expected[Math.Min(k / width, bins - 1)] += expectedFine[k];

        // Chi-square over bins merged until each expects at least 5 blocks.
        var mergedObserved = new List<double>();
        var mergedExpected = new List<double>();
        double o = 0, e = 0;
        for (int i = 0; i < bins; i++)
        {
            o += measured[i];
            e += expected[i];
            if (e >= 5)
            {
                mergedObserved.Add(o);
                mergedExpected.Add(e);
                o = e = 0;
            }
        }
        if (mergedExpected.Count > 0)
        {
            mergedObserved[^1] += o;
            mergedExpected[^1] += e;
        }
        double chi = 0;
        for (int i = 0; i < mergedExpected.Count; i++) chi += (mergedObserved[i] - mergedExpected[i]) * (mergedObserved[i] - mergedExpected[i]) / mergedExpected[i];
        int df = Math.Max(1, mergedExpected.Count - 1);
        double pValue = 1 - ChiSquared.CDF(df, chi);
        return new BlockCountFit(reads[0].Point, heldout(reads[0].Point), starts, width, measured, expected, chi, df, pValue);
    }

    private static string Method(Heterogeneity kind) =>
        "Maximum likelihood with Math.NET Nelder-Mead: every cell's critical value is interval-censored by the reads (nested faults give binomial counts of newly failing cells " +
        "between neighbouring points), block offsets are integrated out per block, and the stuck-at polarity decides which failing cells can show in the written data; " +
        $"block-offset models none, normal and two-class were fitted jointly with mean and sigma and AIC chose {Label(kind)}; standard errors from the observed information " +
        "(numerical Hessian). Weak bitlines/wordlines: Pearson chi-square of faults per line within blocks against uniform placement (Monte-Carlo null), mixture fit by EM " +
        "when significant. Transient part: zero-truncated binomial mixture of the repeats a cell fails in.";

    private static string Source(MeasuredMaps maps)
    {
        string files = maps.Inputs.Count == 0 ? "in-memory maps (no files)" : string.Join("; ", maps.Inputs.Select(i => $"{i.Path} (sha256 {i.Sha256})"));
        return $"Measured fault maps of a {maps.Geometry} memory{(maps.Description != "" ? $" ({maps.Description})" : "")}: {files}";
    }

    private static string Quality(IReadOnlyList<FittedParameter> parameters, IReadOnlyList<ModelCandidate> models, IReadOnlyList<PointFit> points, BlockCountFit? blocks)
    {
        static string F(double v) => v.ToString("G4", CultureInfo.InvariantCulture);
        var parts = parameters.Where(p => p.Fitted).Select(p => $"{p.Name} {F(p.Value)}" + (double.IsNaN(p.StandardError) ? "" : $" +- {F(p.StandardError)}") + (p.Unit != "" ? " " + p.Unit : "")).ToList();
        var fitted = points.Where(p => !p.Heldout).ToList();
        parts.Add($"deviance {F(fitted.Sum(p => p.Deviance))} over {fitted.Count} fitted points");
        var second = models.Where(m => !m.Selected).MinBy(m => m.DeltaAic);
        if (second is not null) parts.Add($"{models.First(m => m.Selected).Name} by AIC (next: {second.Name}, delta AIC {F(second.DeltaAic)})");
        var held = points.Where(p => p.Heldout).ToList();
        if (held.Count > 0) parts.Add($"held-out {string.Join(", ", held.Select(p => $"V={F(p.Point.Voltage)}: fitted/measured {F(p.Ratio)}"))}");
        if (blocks is not null) parts.Add($"faults per block at {blocks.Point}: chi-square {F(blocks.ChiSquare)} on {blocks.DegreesOfFreedom} df");
        return string.Join("; ", parts);
    }

    private static JsonObject CalibrationSection(MeasuredMaps maps, string method, string date, IReadOnlyList<FittedParameter> parameters, IReadOnlyList<ModelCandidate> models,
        IReadOnlyList<PointFit> points, PolarityFinding polarity, NestingFinding nesting, TransientFinding transient, LineFinding bitlines, LineFinding wordlines,
        IReadOnlyList<string> notes, CalibrationOptions options)
    {
        static JsonNode? Num(double v) => double.IsFinite(v) ? JsonValue.Create(v) : null;
        var held = points.Where(p => p.Heldout).ToList();
        return new JsonObject
        {
            ["method"] = method,
            ["date"] = date,
            ["geometry"] = maps.Geometry.ToString(),
            ["chip"] = maps.Description,
            ["inputs"] = new JsonArray(maps.Inputs.Select(i => (JsonNode)new JsonObject { ["path"] = i.Path, ["role"] = i.Role, ["bytes"] = i.Bytes, ["sha256"] = i.Sha256 }).ToArray()),
            ["parameters"] = new JsonArray(parameters.Select(p => (JsonNode)new JsonObject
            {
                ["name"] = p.Name, ["value"] = Num(p.Value), ["standardError"] = Num(p.StandardError), ["unit"] = p.Unit, ["fitted"] = p.Fitted, ["note"] = p.Note,
            }).ToArray()),
            ["modelSelection"] = new JsonArray(models.Select(m => (JsonNode)new JsonObject
            {
                ["model"] = m.Name, ["parameters"] = m.ParameterCount, ["logLikelihood"] = Num(m.LogLikelihood), ["aic"] = Num(m.Aic), ["deltaAic"] = Num(m.DeltaAic), ["selected"] = m.Selected,
            }).ToArray()),
            ["fitQuality"] = new JsonObject
            {
                ["fittedPoints"] = points.Count(p => !p.Heldout),
                ["deviance"] = Num(points.Where(p => !p.Heldout).Sum(p => p.Deviance)),
                ["chiSquare"] = Num(points.Where(p => !p.Heldout).Sum(p => p.ChiSquare)),
            },
            ["heldout"] = new JsonObject
            {
                ["voltages"] = new JsonArray(options.HoldoutVoltages.Select(v => (JsonNode)JsonValue.Create(v)).ToArray()),
                ["maxFactor"] = held.Count > 0 ? Num(held.Max(p => p.Factor)) : null,
            },
            ["polarity"] = new JsonObject { ["oneToZero"] = polarity.OneToZero, ["zeroToOne"] = polarity.ZeroToOne, ["estimated"] = polarity.Estimated, ["note"] = polarity.Note },
            ["nesting"] = new JsonObject { ["share"] = Num(nesting.Share), ["faults"] = nesting.Faults, ["note"] = nesting.Note },
            ["transient"] = new JsonObject { ["estimated"] = transient.Estimated, ["maxRepeats"] = transient.MaxRepeats, ["note"] = transient.Note },
            ["weakBitlines"] = new JsonObject { ["pValue"] = Num(bitlines.PValue), ["significant"] = bitlines.Significant, ["note"] = bitlines.Note },
            ["weakWordlines"] = new JsonObject { ["pValue"] = Num(wordlines.PValue), ["significant"] = wordlines.Significant, ["note"] = wordlines.Note },
            ["notes"] = new JsonArray(notes.Select(n => (JsonNode)JsonValue.Create(n)).ToArray()),
        };
    }
}
