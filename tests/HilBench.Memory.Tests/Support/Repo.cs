using HilBench.Bnn.Model;
using HilBench.Memory.Profiles;

namespace HilBench.Memory.Tests.Support;

/// <summary>The repository's shipped files: the real MLP and the calibration profiles.</summary>
internal static class Repo
{
    private static readonly Lazy<string> RootDir = new(FindRoot);
    private static readonly Lazy<BnnModel> MlpModel = new(() => ModelFile.Load(File("models", "fmnist-mlp-bft0.hbnn")));

    /// <summary>The folder holding HilBench.sln, found by walking up from the test binaries.</summary>
    public static string Root => RootDir.Value;

    public static string File(params string[] parts) => Path.Combine([Root, .. parts]);

    /// <summary>The shipped 784-2048-2048-10 MLP (loaded once; never modify it).</summary>
    public static BnnModel Mlp => MlpModel.Value;

    public static string BramLikePath => File("calibration", "profiles", "bram-like.json");

    public static string Ddr4LikePath => File("calibration", "profiles", "ddr4-like.json");

    public static DeviceProfile BramLike() => DeviceProfile.Load(BramLikePath);

    public static DeviceProfile Ddr4Like() => DeviceProfile.Load(Ddr4LikePath);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
            if (System.IO.File.Exists(Path.Combine(dir.FullName, "HilBench.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no HilBench.sln above {TestContext.CurrentContext.TestDirectory}");
    }
}

/// <summary>A fresh directory per test or fixture, removed afterwards.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory() =>
        Path = Directory.CreateDirectory(System.IO.Path.Combine(System.IO.Path.GetTempPath(), "hilbench-memory-tests", System.IO.Path.GetRandomFileName())).FullName;

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
    }
}
