namespace HilBench.Cli;

/// <summary>Files the CLI writes: the directory is created if needed, and a file appears whole or not at all.</summary>
public static class OutputFiles
{
    /// <summary>Creates the directory that will hold <paramref name="path"/> and returns the full path.</summary>
    public static string Prepare(string path)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new CliException("the output path is empty");
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full)) throw new CliException($"{full} is a directory; give a file name");
        string? dir = Path.GetDirectoryName(full);
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        return full;
    }

    /// <summary>Writes through a temporary file next to <paramref name="path"/> and renames it into place.</summary>
    public static string WriteText(string path, Action<TextWriter> write) => Write(path, stream =>
    {
        using var writer = new StreamWriter(stream) { NewLine = "\n" };
        write(writer);
    });

    public static string WriteBytes(string path, byte[] bytes) => Write(path, stream => stream.Write(bytes));

    private static string Write(string path, Action<Stream> write)
    {
        string full = Prepare(path);
        string tmp = full + ".tmp";
        try
        {
            using (var stream = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(stream);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
        return full;
    }
}
