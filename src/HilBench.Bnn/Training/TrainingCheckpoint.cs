using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace HilBench.Bnn.Training;

/// <summary>
/// The complete state of a training run after a whole epoch: settings, latent weights, batch norm
/// parameters and running statistics, the logit scale and Adam's moments and step. Random streams are
/// derived from (seed, epoch, batch), so a run resumed from a checkpoint repeats the uninterrupted run
/// bit for bit. Written to a temporary file and renamed, so an interrupted write leaves the previous
/// checkpoint intact; a SHA-256 at the end catches damage.
/// </summary>
public static class TrainingCheckpoint
{
    private static ReadOnlySpan<byte> Magic => "HBNNCKPT"u8;
    private const int Version = 1;

    /// <summary>Saves the trainer's state after <paramref name="epochsDone"/> epochs together with the settings that made it.</summary>
    public static void Save(string path, BnnTrainer trainer, int epochsDone, IReadOnlyDictionary<string, string> settings)
    {
        using var body = new MemoryStream();
        using (var w = new BinaryWriter(body, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(Magic);
            w.Write(Version);
            w.Write(settings.Count);
            foreach (var (key, value) in settings.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                w.Write(key);
                w.Write(value);
            }
            w.Write(epochsDone);
            foreach (var array in trainer.StateArrays()) Write(w, array);
            w.Write(trainer.Optimizer.Step);
        }
        var bytes = body.ToArray();
        using var file = AtomicFile.Create(path);
        file.Stream.Write(bytes);
        file.Stream.Write(SHA256.HashData(bytes));
        file.Commit();
    }

    /// <summary>Reads the settings and the number of completed epochs of a checkpoint, without restoring it.</summary>
    public static (IReadOnlyDictionary<string, string> Settings, int EpochsDone) ReadHeader(string path)
    {
        using var r = Open(path);
        return Complete(path, () => ReadSettings(r, path));
    }

    /// <summary>
    /// Restores a trainer built from the checkpoint's settings; returns the number of completed epochs. The settings
    /// <c>hilbench train</c> stores that decide the run (arch, seed, loss, batch, bft_01, bft_10) must match the
    /// trainer's options. Everything is read and checked before the trainer changes: a refused checkpoint leaves it as it was.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is damaged, truncated, or belongs to another run (the message says which setting differs).</exception>
    public static int Restore(string path, BnnTrainer trainer)
    {
        using var r = Open(path);
        var targets = trainer.StateArrays().ToArray();
        var (epochs, state, step) = Complete(path, () =>
        {
            var (settings, done) = ReadSettings(r, path);
            CheckSettings(settings, trainer.Options, path);
            var read = targets.Select(t => Read(r, t, path)).ToArray();
            return (done, read, r.ReadInt64());
        });
        if (r.BaseStream.Position != r.BaseStream.Length)
            throw new InvalidDataException($"{path}: {r.BaseStream.Length - r.BaseStream.Position} unexpected bytes at the end of the checkpoint; it does not belong to this architecture");
        for (int i = 0; i < targets.Length; i++) Array.Copy(state[i], targets[i], targets[i].Length);
        trainer.Optimizer.Step = step;
        return epochs;
    }

    /// <summary>Runs a read of the checkpoint body, turning a premature end into a message with the path and the fix.</summary>
    private static T Complete<T>(string path, Func<T> read)
    {
        try { return read(); }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"{path}: the checkpoint ends before its training state does; it is truncated or was written by another build: use an earlier checkpoint or start again", e);
        }
    }

    /// <summary>The stored settings that decide the run, against the trainer's options; names the first that differs.</summary>
    private static void CheckSettings(IReadOnlyDictionary<string, string> settings, TrainingOptions options, string path)
    {
        var rates = options.BitFlips switch
        {
            null => (0.0, 0.0),
            Errors.UniformBitErrors u => (u.P01, u.P10),
            _ => ((double, double)?)null, // other error sources have no rates to compare
        };
        var current = new List<(string Key, string Value)>
        {
            ("arch", Model.ModelBuilder.ResolveSpec(options.Architecture)),
            ("seed", options.Seed.ToString(CultureInfo.InvariantCulture)),
            ("loss", options.Loss.Name),
            ("batch", options.BatchSize.ToString(CultureInfo.InvariantCulture)),
        };
        if (rates is var (p01, p10))
        {
            current.Add(("bft_01", p01.ToString("R", CultureInfo.InvariantCulture)));
            current.Add(("bft_10", p10.ToString("R", CultureInfo.InvariantCulture)));
        }
        foreach (var (key, value) in current)
            if (settings.TryGetValue(key, out var stored) && stored != value)
                throw new InvalidDataException($"{path}: the checkpoint was trained with {key} = {stored}, this run has {key} = {value}; resume with the checkpoint's settings (hilbench train --resume reads them) or start again");
    }

    private static BinaryReader Open(string path)
    {
        byte[] all;
        try { all = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"{path}: cannot read the checkpoint ({e.Message})", e);
        }
        if (all.Length < Magic.Length + 32 || !all.AsSpan(0, Magic.Length).SequenceEqual(Magic))
            throw new InvalidDataException($"{path}: not a HilBench training checkpoint (wrong magic); pass the .ckpt file written by hilbench train");
        var body = all[..^32];
        if (!SHA256.HashData(body).AsSpan().SequenceEqual(all.AsSpan(all.Length - 32)))
            throw new InvalidDataException($"{path}: checkpoint checksum mismatch: the file is damaged or truncated; use an earlier checkpoint or start again");
        var r = new BinaryReader(new MemoryStream(body), Encoding.UTF8);
        r.ReadBytes(Magic.Length);
        int version = Complete(path, r.ReadInt32);
        if (version != Version)
            throw new InvalidDataException($"{path}: checkpoint version {version}, this build reads version {Version}");
        return r;
    }

    private static (IReadOnlyDictionary<string, string>, int) ReadSettings(BinaryReader r, string path)
    {
        int n = r.ReadInt32();
        if (n < 0 || n > 1024) throw new InvalidDataException($"{path}: implausible number of settings ({n})");
        var settings = new SortedDictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < n; i++) settings[r.ReadString()] = r.ReadString();
        return (settings, r.ReadInt32());
    }

    private static void Write(BinaryWriter w, Array array)
    {
        w.Write(array.Length);
        switch (array)
        {
            case float[] f: foreach (float v in f) w.Write(v); break;
            case double[] d: foreach (double v in d) w.Write(v); break;
            default: throw new NotSupportedException(array.GetType().Name);
        }
    }

    /// <summary>Reads an array shaped like <paramref name="like"/> into a new array.</summary>
    private static Array Read(BinaryReader r, Array like, string path)
    {
        int n = r.ReadInt32();
        if (n != like.Length)
            throw new InvalidDataException($"{path}: an array holds {n} values where this architecture has {like.Length}; the checkpoint belongs to another model");
        switch (like)
        {
            case float[]:
                var f = new float[n];
                for (int i = 0; i < n; i++) f[i] = r.ReadSingle();
                return f;
            case double[]:
                var d = new double[n];
                for (int i = 0; i < n; i++) d[i] = r.ReadDouble();
                return d;
            default: throw new NotSupportedException(like.GetType().Name);
        }
    }
}
