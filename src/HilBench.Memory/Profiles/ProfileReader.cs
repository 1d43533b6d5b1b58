using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using HilBench.Memory.Geometry;

namespace HilBench.Memory.Profiles;

/// <summary>Reads and writes device profile JSON; every refusal names the field (as a dotted path) and what it must be.</summary>
internal static class ProfileReader
{
    public static DeviceProfile Read(string json, string origin)
    {
        JsonObject root;
        try
        {
            root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }) as JsonObject
                   ?? throw new ProfileException($"{origin}: a device profile is a JSON object; see docs/device-profile.md");
        }
        catch (JsonException e)
        {
            throw new ProfileException($"{origin} is not valid JSON ({e.Message}); see docs/device-profile.md for the schema");
        }
        var r = new Reader(root, origin);
        string schema = r.String("schema");
        if (schema != DeviceProfile.Schema) r.Fail("schema", $"must be \"{DeviceProfile.Schema}\", got \"{schema}\"");
        string tech = r.String("technology");
        var technology = tech.ToLowerInvariant() switch
        {
            "sram" => Technology.Sram,
            "dram" => Technology.Dram,
            _ => throw r.Error("technology", $"must be \"sram\" or \"dram\", got \"{tech}\""),
        };
        bool dram = technology == Technology.Dram;

        int blocks = r.Int("geometry.blocks", 1), rows = r.Int("geometry.rows", 1), bitsPerRow = r.Int("geometry.bitsPerRow", 1);
        int wordBits = r.Has("geometry.wordBits") ? r.Int("geometry.wordBits", 1) : bitsPerRow;
        if (bitsPerRow % wordBits != 0) r.Fail("geometry.wordBits", $"({F(wordBits)}) must divide geometry.bitsPerRow ({F(bitsPerRow)})");
        if ((long)blocks * rows * bitsPerRow > 1L << 40) r.Fail("geometry", "describes more than 2^40 bits; is a field in bytes instead of a count?");
        var geometry = new MemoryGeometry(blocks, rows, bitsPerRow, wordBits);

        double vNom = r.Positive("nominal.voltage");
        double tNom = r.Has("nominal.temperature") ? r.Number("nominal.temperature") : OperatingPoint.RoomTemperature;
        double? trcdNom = dram ? r.Positive("nominal.tRCD") : null;
        if (!dram && r.Has("nominal.tRCD")) r.Fail("nominal.tRCD", "is only for DRAM profiles; remove it");

        var vRange = r.Range("range.voltage", positive: true);
        var tRange = r.Has("range.temperature") ? r.Range("range.temperature", positive: false) : new ValueRange(tNom, tNom);
        ValueRange? trcdRange = dram ? r.Range("range.tRCD", positive: true) : null;
        if (!vRange.Contains(vNom)) r.Fail("nominal.voltage", $"({F(vNom)}) must lie in range.voltage {vRange}");
        if (!tRange.Contains(tNom)) r.Fail("nominal.temperature", $"({F(tNom)}) must lie in range.temperature {tRange}");
        if (dram && !trcdRange!.Contains(trcdNom!.Value)) r.Fail("nominal.tRCD", $"({F(trcdNom!.Value)}) must lie in range.tRCD {trcdRange}");

        var cells = new CellParameters(
            r.Positive("cells.mean"), r.Positive("cells.sigma"),
            r.Has("cells.temperatureCoefficient") ? r.Number("cells.temperatureCoefficient") : 0,
            dram ? r.NonNegative("cells.voltageSensitivity") : 0);
        if (!dram && r.Has("cells.voltageSensitivity")) r.Fail("cells.voltageSensitivity", "is only for DRAM profiles (growth of the critical tRCD as V drops); remove it");

        var offsets = BlockOffsets.None;
        if (r.Has("blockOffsets"))
        {
            string d = r.String("blockOffsets.distribution");
            offsets = d switch
            {
                "none" => BlockOffsets.None,
                "normal" => new BlockOffsets(BlockOffsetDistribution.Normal, Sigma: r.NonNegative("blockOffsets.sigma")),
                "two-class" => new BlockOffsets(BlockOffsetDistribution.TwoClass, WeakShare: r.Probability("blockOffsets.weakShare"), WeakOffset: r.Number("blockOffsets.weakOffset")),
                _ => throw r.Error("blockOffsets.distribution", $"must be \"none\", \"normal\" or \"two-class\", got \"{d}\""),
            };
        }
        WeakLines Lines(string key) => r.Has(key) ? new WeakLines(r.Probability(key + ".fraction"), r.Number(key + ".strength")) : WeakLines.None;

        var polarity = Polarity.Default;
        if (r.Has("polarity"))
        {
            string mode = r.Has("polarity.mode") ? r.String("polarity.mode") : "stuck";
            int antiCells = r.Has("polarity.antiCellRowGroup") ? r.Int("polarity.antiCellRowGroup", 0) : 0;
            if (antiCells > 0 && !dram)
                r.Fail("polarity.antiCellRowGroup", "(true and anti cells) is only for DRAM profiles; for SRAM set polarity.stuckAtZeroShare, or remove it");
            if (antiCells > 0 && r.Has("polarity.stuckAtZeroShare"))
                r.Fail("polarity.stuckAtZeroShare", "cannot be used with polarity.antiCellRowGroup, which decides the stuck value by row; remove one of them");
            polarity = mode switch
            {
                "flip" => new Polarity(FailureMode.Flip),
                "stuck" => new Polarity(FailureMode.Stuck, r.Has("polarity.stuckAtZeroShare") ? r.Probability("polarity.stuckAtZeroShare") : 0.5, antiCells),
                _ => throw r.Error("polarity.mode", $"must be \"stuck\" or \"flip\", got \"{mode}\""),
            };
        }
        var transient = r.Has("transient")
            ? new TransientPart(r.Probability("transient.share"), r.Probability("transient.readFailureProbability"))
            : TransientPart.None;
        EnergyModel? energy = r.Has("energy")
            ? new EnergyModel(r.NonNegative("energy.dynamicPicojoulesPerAccess"), r.NonNegative("energy.leakageMilliwatts"),
                r.Has("energy.leakageVoltageExponent") ? r.NonNegative("energy.leakageVoltageExponent") : 1, r.Positive("energy.accessNanoseconds"))
            : null;

        var profile = new DeviceProfile
        {
            Name = r.String("name"),
            Technology = technology,
            Description = r.Has("description") ? r.String("description") : "",
            Provenance = new Provenance(r.String("provenance.source"), r.String("provenance.method"),
                r.Has("provenance.quality") ? r.String("provenance.quality") : null, r.Has("provenance.date") ? r.String("provenance.date") : null),
            Geometry = geometry,
            Nominal = new OperatingPoint(vNom, trcdNom, tNom),
            VoltageRange = vRange,
            TRcdRange = trcdRange,
            TemperatureRange = tRange,
            Cells = cells,
            BlockOffsets = offsets,
            WeakBitlines = Lines("weakBitlines"),
            WeakWordlines = Lines("weakWordlines"),
            Polarity = polarity,
            Transient = transient,
            Energy = energy,
            ChipSeed = r.Has("chipSeed") ? r.Int("chipSeed", int.MinValue) : 1,
            Origin = origin,
        };
        if (dram && profile.Model.ThresholdAt(profile.WorstPoint()) <= 0)
            r.Fail("cells.voltageSensitivity", "makes the critical tRCD grow without bound inside range.voltage; lower it or narrow the range");
        double weakCells = profile.Model.WeakCellsAtWorstCorner;
        if (weakCells > CellFailureModel.MaxWeakCells)
            r.Fail("range", $"lets {(weakCells / geometry.TotalBits).ToString("P2", CultureInfo.InvariantCulture)} of the cells fail at its worst corner ({weakCells.ToString("G3", CultureInfo.InvariantCulture)} cells), " +
                            $"but at most {CellFailureModel.MaxWeakCells / 1_000_000} million weak cells are emulated: raise the low end of range.voltage{(dram ? " or range.tRCD" : "")} " +
                            "to where the memory is still usable, or give the memory fewer blocks (a chip seed's weak cells are drawn beyond the worst corner, so another range gives other chips)");
        return profile;
    }

    /// <summary>Numbers in messages as JSON writes them, whatever the current culture.</summary>
    private static string F(double v) => v.ToString(CultureInfo.InvariantCulture);

    public static JsonObject Write(DeviceProfile p)
    {
        static JsonArray Range(ValueRange r) => [r.Min, r.Max];
        var o = new JsonObject
        {
            ["schema"] = DeviceProfile.Schema,
            ["name"] = p.Name,
            ["technology"] = p.Technology == Technology.Sram ? "sram" : "dram",
            ["description"] = p.Description,
            ["provenance"] = new JsonObject { ["source"] = p.Provenance.Source, ["method"] = p.Provenance.Method, ["quality"] = p.Provenance.Quality, ["date"] = p.Provenance.Date },
            ["geometry"] = new JsonObject { ["blocks"] = p.Geometry.Blocks, ["rows"] = p.Geometry.RowsPerBlock, ["bitsPerRow"] = p.Geometry.BitsPerRow, ["wordBits"] = p.Geometry.WordBits },
            ["nominal"] = p.Technology == Technology.Dram
                ? new JsonObject { ["voltage"] = p.Nominal.Voltage, ["tRCD"] = p.Nominal.TRcdNs, ["temperature"] = p.Nominal.TemperatureC }
                : new JsonObject { ["voltage"] = p.Nominal.Voltage, ["temperature"] = p.Nominal.TemperatureC },
            ["range"] = p.TRcdRange is { } tr
                ? new JsonObject { ["voltage"] = Range(p.VoltageRange), ["tRCD"] = Range(tr), ["temperature"] = Range(p.TemperatureRange) }
                : new JsonObject { ["voltage"] = Range(p.VoltageRange), ["temperature"] = Range(p.TemperatureRange) },
            ["cells"] = p.Technology == Technology.Dram
                ? new JsonObject { ["mean"] = p.Cells.Mean, ["sigma"] = p.Cells.Sigma, ["temperatureCoefficient"] = p.Cells.TemperatureCoefficient, ["voltageSensitivity"] = p.Cells.VoltageSensitivity }
                : new JsonObject { ["mean"] = p.Cells.Mean, ["sigma"] = p.Cells.Sigma, ["temperatureCoefficient"] = p.Cells.TemperatureCoefficient },
            ["blockOffsets"] = p.BlockOffsets.Distribution switch
            {
                BlockOffsetDistribution.Normal => new JsonObject { ["distribution"] = "normal", ["sigma"] = p.BlockOffsets.Sigma },
                BlockOffsetDistribution.TwoClass => new JsonObject { ["distribution"] = "two-class", ["weakShare"] = p.BlockOffsets.WeakShare, ["weakOffset"] = p.BlockOffsets.WeakOffset },
                _ => new JsonObject { ["distribution"] = "none" },
            },
            ["weakBitlines"] = new JsonObject { ["fraction"] = p.WeakBitlines.Fraction, ["strength"] = p.WeakBitlines.Strength },
            ["weakWordlines"] = new JsonObject { ["fraction"] = p.WeakWordlines.Fraction, ["strength"] = p.WeakWordlines.Strength },
            ["polarity"] = p.Polarity.Mode == FailureMode.Flip
                ? new JsonObject { ["mode"] = "flip" }
                : p.Polarity.AntiCellRowGroup > 0
                    ? new JsonObject { ["mode"] = "stuck", ["antiCellRowGroup"] = p.Polarity.AntiCellRowGroup }
                    : new JsonObject { ["mode"] = "stuck", ["stuckAtZeroShare"] = p.Polarity.StuckAtZeroShare },
            ["transient"] = new JsonObject { ["share"] = p.Transient.Share, ["readFailureProbability"] = p.Transient.ReadFailureProbability },
            ["chipSeed"] = p.ChipSeed,
        };
        if (p.Energy is { } e)
            o["energy"] = new JsonObject
            {
                ["dynamicPicojoulesPerAccess"] = e.DynamicPicojoulesPerAccess, ["leakageMilliwatts"] = e.LeakageMilliwatts,
                ["leakageVoltageExponent"] = e.LeakageVoltageExponent, ["accessNanoseconds"] = e.AccessNanoseconds,
            };
        return o;
    }

    private sealed class Reader(JsonObject root, string origin)
    {
        public bool Has(string path) => Find(path) is not null;

        private JsonNode? Find(string path)
        {
            JsonNode? node = root;
            foreach (var key in path.Split('.'))
                node = node is JsonObject o && o.TryGetPropertyValue(key, out var child) ? child : null;
            return node;
        }

        private JsonNode Required(string path) =>
            Find(path) ?? throw Error(path, "is missing; every profile needs it (see docs/device-profile.md)");

        public ProfileException Error(string path, string what) => new($"{origin}: field '{path}' {what}");

        public void Fail(string path, string what) => throw Error(path, what);

        public string String(string path)
        {
            var n = Required(path);
            return n is JsonValue v && v.TryGetValue(out string? s) ? s : throw Error(path, $"must be a string, got {n.ToJsonString()}");
        }

        public double Number(string path)
        {
            var n = Required(path);
            if (n is JsonValue v && v.TryGetValue(out double d) && double.IsFinite(d)) return d;
            throw Error(path, $"must be a number, got {n.ToJsonString()}");
        }

        public double Positive(string path)
        {
            double d = Number(path);
            return d > 0 ? d : throw Error(path, $"must be > 0, got {F(d)}");
        }

        public double NonNegative(string path)
        {
            double d = Number(path);
            return d >= 0 ? d : throw Error(path, $"must be >= 0, got {F(d)}");
        }

        public double Probability(string path)
        {
            double d = Number(path);
            return d is >= 0 and <= 1 ? d : throw Error(path, $"must be between 0 and 1, got {F(d)}");
        }

        public int Int(string path, int min)
        {
            double d = Number(path);
            if (d != Math.Floor(d) || d < min || d > int.MaxValue) throw Error(path, $"must be a whole number >= {F(min)}, got {F(d)}");
            return (int)d;
        }

        public ValueRange Range(string path, bool positive)
        {
            var n = Required(path);
            if (n is not JsonArray { Count: 2 } a || a.Any(x => x is not JsonValue v || !v.TryGetValue(out double _)))
                throw Error(path, $"must be [min, max], got {n.ToJsonString()}");
            double lo = a[0]!.GetValue<double>(), hi = a[1]!.GetValue<double>();
            if (lo > hi) throw Error(path, $"must be [min, max] with min <= max, got [{F(lo)}, {F(hi)}]");
            if (positive && lo <= 0) throw Error(path, $"must be positive, got [{F(lo)}, {F(hi)}]");
            return new ValueRange(lo, hi);
        }
    }
}
