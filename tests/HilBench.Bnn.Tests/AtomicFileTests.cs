using HilBench.Bnn.Data;
using NUnit.Framework;

namespace HilBench.Bnn.Tests;

[TestFixture]
public class AtomicFileTests
{
    private string _dir = null!;

    [SetUp]
    public void MakeDirectory() => Directory.CreateDirectory(_dir = Path.Combine(Path.GetTempPath(), $"hilbench-atomic-{Guid.NewGuid():N}"));

    [TearDown]
    public void RemoveDirectory() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void CommitReplacesTheTargetAndLeavesNoTemporaryFile()
    {
        string path = Path.Combine(_dir, "f.bin");
        File.WriteAllBytes(path, [1, 2, 3]);
        using (var file = AtomicFile.Create(path))
        {
            file.Stream.Write([9, 8]);
            file.Commit();
        }
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(new byte[] { 9, 8 }));
        Assert.That(Directory.GetFiles(_dir), Is.EqualTo(new[] { path }));
    }

    [Test]
    public void AFailedWriteLeavesTheOldFileIntactAndNoTemporaryFile()
    {
        string path = Path.Combine(_dir, "f.bin");
        File.WriteAllBytes(path, [1, 2, 3]);
        Assert.That(() =>
        {
            using var file = AtomicFile.Create(path);
            file.Stream.Write([9, 8, 7, 6]);
            throw new IOException("disk full");
        }, Throws.TypeOf<IOException>());
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(new byte[] { 1, 2, 3 }));
        Assert.That(Directory.GetFiles(_dir), Is.EqualTo(new[] { path }));
    }

    [Test]
    public void IdxWriteReplacesAnExistingFileWhole()
    {
        string path = Path.Combine(_dir, "x.idx");
        IdxFile.Write(path, [6], [1, 2, 3, 4, 5, 6], gzip: false);
        IdxFile.Write(path, [2], [7, 8], gzip: false);
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(new byte[] { 0, 0, 8, 1, 0, 0, 0, 2, 7, 8 }));
        Assert.That(Directory.GetFiles(_dir), Is.EqualTo(new[] { path }));
    }

    [Test]
    public void IdxWriteThatCannotReplaceTheTargetLeavesNoTemporaryFile()
    {
        // A directory in the way: the rename fails after the content was written.
        string path = Path.Combine(_dir, "in-the-way");
        Directory.CreateDirectory(path);
        Assert.That(() => IdxFile.Write(path, [2], [7, 8], gzip: true), Throws.InstanceOf<IOException>().Or.InstanceOf<UnauthorizedAccessException>());
        Assert.That(Directory.GetFiles(_dir), Is.Empty);
    }
}
