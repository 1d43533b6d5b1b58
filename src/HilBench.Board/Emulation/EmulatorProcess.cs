using System.Diagnostics;

namespace HilBench.Board.Emulation;

/// <summary>
/// The reference firmware's host build (<c>firmware-protocol/firmware/build/hilboard-emu</c>) running as a child
/// process: an emulated undervolted board served on a pseudo-terminal, for tests, demonstrations and dry runs of
/// a measurement campaign. <see cref="Port"/> is the PTY path to open like any serial port.
/// </summary>
public sealed class EmulatorProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringWriter _log;

    private EmulatorProcess(Process process, StringWriter log, string port, string? truthFile)
    {
        _process = process;
        _log = log;
        Port = port;
        TruthFile = truthFile;
    }

    /// <summary>The pseudo-terminal the emulated board listens on.</summary>
    public string Port { get; }

    /// <summary>The ground-truth file the emulator wrote (every weak cell), when asked for one.</summary>
    public string? TruthFile { get; }

    public bool HasExited => _process.HasExited;

    /// <summary>What the emulator wrote to standard error so far.</summary>
    public string Log
    {
        get { lock (_log) return _log.ToString(); }
    }

    /// <summary>The firmware folder of a checkout: <paramref name="repositoryRoot"/>/firmware-protocol/firmware.</summary>
    public static string FirmwareDirectory(string repositoryRoot) => Path.Combine(repositoryRoot, "firmware-protocol", "firmware");

    /// <summary>
    /// Runs <c>make</c> in the firmware folder (incremental) and returns the emulator's path. Fails with the compiler's
    /// output when the build fails or make is missing.
    /// </summary>
    public static string Build(string repositoryRoot, TimeSpan? timeout = null)
    {
        Make(repositoryRoot, target: null, timeout);
        return Path.Combine(FirmwareDirectory(repositoryRoot), "build", "hilboard-emu");
    }

    /// <summary>
    /// Runs <c>make [target]</c> in the firmware folder and returns what it printed. Several processes may ask at once
    /// (test assemblies run side by side): a lock file serialises them so no two compilers write the same file.
    /// </summary>
    public static string Make(string repositoryRoot, string? target, TimeSpan? timeout = null)
    {
        string dir = FirmwareDirectory(repositoryRoot);
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"{dir} does not exist; is {repositoryRoot} a HilBench checkout?");
        using var gate = Lock(Path.Combine(Path.GetTempPath(), "hilboard-emu-build.lock"));
        var make = new ProcessStartInfo("make", target is null ? ["-C", dir] : ["-C", dir, target]) { RedirectStandardOutput = true, RedirectStandardError = true };
        Process process;
        try
        {
            process = Process.Start(make) ?? throw new InvalidOperationException("make did not start");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"cannot run make in {dir} ({e.Message}); install make and a C compiler (apt-get install gcc make libc6-dev)", e);
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(timeout ?? TimeSpan.FromMinutes(5)))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"make -C {dir} {target} did not finish in time");
            }
            string log = stdout.Result + stderr.Result;
            if (process.ExitCode != 0) throw new InvalidOperationException($"make -C {dir} {target} failed with exit code {process.ExitCode}:\n{log}");
            return log;
        }
    }

    /// <summary>Starts the emulator and waits for its <c>PTY path</c> line. Extra arguments go to hilboard-emu as they are.</summary>
    public static EmulatorProcess Start(string executable, int seed = 1, string? truthFile = null, IEnumerable<string>? arguments = null, TimeSpan? timeout = null)
    {
        var info = new ProcessStartInfo(executable) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add("--seed");
        info.ArgumentList.Add(seed.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (truthFile is not null)
        {
            info.ArgumentList.Add("--truth");
            info.ArgumentList.Add(truthFile);
        }
        foreach (string a in arguments ?? []) info.ArgumentList.Add(a);
        var process = Process.Start(info) ?? throw new InvalidOperationException($"{executable} did not start");
        var log = new StringWriter();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line) lock (log) log.WriteLine(line);
        };
        process.BeginErrorReadLine();
        var first = process.StandardOutput.ReadLineAsync();
        if (!first.Wait(timeout ?? TimeSpan.FromSeconds(20)) || first.Result is not { } line || !line.StartsWith("PTY ", StringComparison.Ordinal))
        {
            try { process.Kill(); } catch (InvalidOperationException) { }
            process.WaitForExit(5000);
            string said;
            lock (log) said = log.ToString();
            throw new InvalidOperationException($"{executable} did not announce its pseudo-terminal (first line: '{(first.IsCompleted ? first.Result : "nothing")}'): {said}");
        }
        return new EmulatorProcess(process, log, line[4..].Trim(), truthFile);
    }

    /// <summary>Kills the emulator at once, as pulling a board's cable would.</summary>
    public void Kill()
    {
        try
        {
            if (!_process.HasExited) _process.Kill();
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
        _process.WaitForExit(5000);
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }

    private static FileStream Lock(string path)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(5);
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(100);
            }
        }
    }
}
