namespace HilBench.Benchmarks;

/// <summary>The checkout the benchmarks run in: the nearest folder above the working directory (or the binary) holding HilBench.sln.</summary>
internal static class Repository
{
    public static string Root { get; } = Find(Directory.GetCurrentDirectory()) ?? Find(AppContext.BaseDirectory)
        ?? throw new DirectoryNotFoundException("run the benchmarks from inside the HilBench checkout (no HilBench.sln above the working directory)");

    private static string? Find(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "HilBench.sln"))) return dir.FullName;
        return null;
    }
}
