using System.Globalization;

namespace HilBench.Memory;

/// <summary>
/// Where a memory runs: supply voltage in volts, row activation latency tRCD in nanoseconds (DRAM only) and
/// temperature in degrees Celsius. A technology uses the dimensions it has; SRAM has no tRCD.
/// </summary>
public readonly record struct OperatingPoint(double Voltage, double? TRcdNs = null, double TemperatureC = OperatingPoint.RoomTemperature)
{
    public const double RoomTemperature = 25;

    /// <summary>
    /// Parses "V=0.55", "V=550mV,T=85", "V=1.1,tRCD=10ns,T=45" (',' or ';' between fields). Missing fields
    /// come from <paramref name="defaults"/> (typically the profile's nominal point).
    /// </summary>
    public static OperatingPoint Parse(string text, OperatingPoint? defaults = null)
    {
        if (string.IsNullOrWhiteSpace(text)) throw new FormatException("an operating point is empty; write it as V=0.55 or V=1.1,tRCD=10,T=45");
        double? voltage = null, trcd = null, temperature = null;
        foreach (var part in text.Split([',', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = part.IndexOf('=');
            if (eq <= 0) throw new FormatException($"'{part}' in operating point '{text}' is not KEY=VALUE; write it as V=0.55 or V=1.1,tRCD=10,T=45");
            string key = part[..eq].Trim(), value = part[(eq + 1)..].Trim();
            switch (key.ToLowerInvariant())
            {
                case "v":
                    voltage = Number(value, text, ("mv", 1e-3), ("v", 1));
                    break;
                case "trcd":
                    trcd = Number(value, text, ("ns", 1));
                    break;
                case "t":
                    temperature = Number(value, text, ("c", 1));
                    break;
                default:
                    throw new FormatException($"unknown field '{key}' in operating point '{text}'; the fields are V (volts), tRCD (ns) and T (degrees C)");
            }
        }
        var d = defaults;
        if (voltage is null && d is null) throw new FormatException($"operating point '{text}' has no voltage; add V=..., e.g. V=0.55");
        return new OperatingPoint(voltage ?? d!.Value.Voltage, trcd ?? d?.TRcdNs, temperature ?? d?.TemperatureC ?? RoomTemperature);
    }

    private static double Number(string value, string text, params (string Suffix, double Scale)[] units)
    {
        double scale = 1;
        foreach (var (suffix, s) in units)
            if (value.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                value = value[..^suffix.Length];
                scale = s;
                break;
            }
        if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v))
            throw new FormatException($"'{value}' in operating point '{text}' is not a number");
        return v * scale;
    }

    /// <summary>Same point, tolerating the rounding of a value written as text.</summary>
    public bool SameAs(OperatingPoint other) =>
        Close(Voltage, other.Voltage) && Close(TemperatureC, other.TemperatureC) &&
        (TRcdNs is null ? other.TRcdNs is null : other.TRcdNs is { } t && Close(TRcdNs.Value, t));

    private static bool Close(double a, double b) => Math.Abs(a - b) <= 1e-9 * Math.Max(1, Math.Max(Math.Abs(a), Math.Abs(b)));

    /// <summary>"V=0.55,T=25" or "V=1.1,tRCD=10,T=45": parses back to the same point.</summary>
    public override string ToString() => ToString(",");

    /// <summary>The same text with another separator, e.g. ";" inside a CSV field.</summary>
    public string ToString(string separator)
    {
        var parts = new List<string> { "V=" + Format(Voltage) };
        if (TRcdNs is { } t) parts.Add("tRCD=" + Format(t));
        parts.Add("T=" + Format(TemperatureC));
        return string.Join(separator, parts);
    }

    private static string Format(double v) => v.ToString("G15", CultureInfo.InvariantCulture);
}

/// <summary>An operating point outside what a profile or board allows; the message names the limit.</summary>
public sealed class OperatingPointException(string message) : Exception(message);
