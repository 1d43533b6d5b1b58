using System.Globalization;

namespace HilBench.Board.Tests.Support;

/// <summary>One line of firmware-protocol/vectors/frames.txt; the fields are null for garbage.</summary>
public sealed record GoldenVector(string Name, string Meaning, byte[] Wire, string Result, byte? Version, byte? Flags, ushort? RequestId, byte? Command, byte? Status, byte[]? Payload)
{
    public override string ToString() => Name;
}

internal static class GoldenVectors
{
    public static string PathOf => Repo.File("firmware-protocol", "vectors", "frames.txt");

    public static IReadOnlyList<GoldenVector> All { get; } = Load();

    private static List<GoldenVector> Load()
    {
        var vectors = new List<GoldenVector>();
        string meaning = "";
        foreach (var line in File.ReadLines(PathOf))
        {
            if (line.StartsWith("# ", StringComparison.Ordinal))
            {
                meaning = line[2..];
                continue;
            }
            if (line.Length == 0) continue;
            var f = line.Split('|');
            if (f.Length != 9) throw new FormatException($"{PathOf}: '{line}' does not have 9 fields");
            bool garbage = f[2] == "garbage";
            vectors.Add(new GoldenVector(f[0], meaning, Convert.FromHexString(f[1]), f[2],
                garbage ? null : byte.Parse(f[3], CultureInfo.InvariantCulture),
                garbage ? null : byte.Parse(f[4], CultureInfo.InvariantCulture),
                garbage ? null : ushort.Parse(f[5], CultureInfo.InvariantCulture),
                garbage ? null : Convert.ToByte(f[6], 16),
                garbage ? null : byte.Parse(f[7], CultureInfo.InvariantCulture),
                garbage ? null : Convert.FromHexString(f[8])));
        }
        return vectors;
    }
}
