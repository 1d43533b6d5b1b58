namespace HilBench.Board.Tests.Support;

/// <summary>The repository around the test binaries.</summary>
internal static class Repo
{
    private static readonly Lazy<string> RootDir = new(FindRoot);

    /// <summary>The folder holding HilBench.sln, found by walking up from the test binaries.</summary>
    public static string Root => RootDir.Value;

    public static string File(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string FindRoot()
    {
        // While NUnit discovers test cases there may be no test directory yet; the binaries' folder is the same place.
        string start = TestContext.CurrentContext.TestDirectory is { Length: > 0 } d ? d : AppContext.BaseDirectory;
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            if (System.IO.File.Exists(Path.Combine(dir.FullName, "HilBench.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no HilBench.sln above {start}");
    }
}
