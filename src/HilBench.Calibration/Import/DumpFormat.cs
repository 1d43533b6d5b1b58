namespace HilBench.Calibration.Import;

/// <summary>How a measured file is encoded.</summary>
public enum DumpFormat
{
    /// <summary>Raw readback, one bit per cell, LSB first (byte a holds cells 8a..8a+7), the last byte padded.</summary>
    Binary,

    /// <summary>The binary dump's bytes as hex digit pairs in address order (as `xxd -p` prints them); whitespace and line breaks are ignored.</summary>
    Hex,

    /// <summary>One hex number per word, most significant digit first ($readmemh style), words separated by whitespace; bit j of word i is cell i*W + j.</summary>
    HexWords,

    /// <summary>CSV fault list: block,row,bit[,read] with an optional header line.</summary>
    FaultList,

    /// <summary>HilBench's fault-map format (docs/device-profile.md, "Fault maps").</summary>
    FaultMap,
}

public static class DumpFormats
{
    public static DumpFormat Parse(string text, string origin = "--format") => text.Trim().ToLowerInvariant() switch
    {
        "bin" or "binary" => DumpFormat.Binary,
        "hex" => DumpFormat.Hex,
        "hexwords" or "hex-words" or "readmemh" => DumpFormat.HexWords,
        "csv" or "faults" or "fault-list" => DumpFormat.FaultList,
        "faultmap" or "fault-map" or "map" => DumpFormat.FaultMap,
        _ => throw new CalibrationInputException($"{origin}: unknown format '{text}': expected bin, hex, hexwords, csv or faultmap"),
    };
}
