namespace HilBench.Bnn;

/// <summary>
/// Writes a file so that readers see either the old file or the complete new one: the content goes to
/// <c>path + ".tmp"</c>, is flushed to disk and renamed over <c>path</c> by <see cref="Commit"/>. Disposed without a
/// commit (an exception while writing), it deletes the temporary file and leaves <c>path</c> as it was.
/// </summary>
internal sealed class AtomicFile : IDisposable
{
    private readonly string _path;
    private readonly string _tmp;
    private bool _committed;

    private AtomicFile(string path)
    {
        _path = path;
        _tmp = path + ".tmp";
        Stream = new FileStream(_tmp, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16);
    }

    /// <summary>Starts writing <paramref name="path"/>; write to <see cref="Stream"/>, then call <see cref="Commit"/>.</summary>
    public static AtomicFile Create(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return new AtomicFile(path);
    }

    /// <summary>The temporary file's stream (readable too, for formats that patch what they wrote).</summary>
    public FileStream Stream { get; }

    /// <summary>Flushes the written content to disk and renames it over the target.</summary>
    public void Commit()
    {
        Stream.Flush(flushToDisk: true);
        Stream.Dispose();
        File.Move(_tmp, _path, overwrite: true);
        _committed = true;
    }

    public void Dispose()
    {
        Stream.Dispose();
        if (_committed) return;
        try { File.Delete(_tmp); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
