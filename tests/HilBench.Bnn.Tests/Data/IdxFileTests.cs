using HilBench.Bnn.Data;
using NUnit.Framework;

namespace HilBench.Bnn.Tests.Data;

[TestFixture]
public sealed class IdxFileTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "hilbench-idx-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [TestCase(false, new[] { 7 })]
    [TestCase(true, new[] { 7 })]
    [TestCase(false, new[] { 5, 4, 3 })]
    [TestCase(true, new[] { 5, 4, 3 })]
    [TestCase(true, new[] { 2, 3, 4, 3 })]
    public void Write_then_Read_round_trips(bool gzip, int[] dimensions)
    {
        var data = IdxBytes.Pattern(dimensions.Aggregate(1, (a, b) => a * b));
        string path = Path.Combine(_dir, "roundtrip");

        IdxFile.Write(path, dimensions, data, gzip);
        var file = IdxFile.Read(path);

        Assert.That(file.Dimensions, Is.EqualTo(dimensions));
        Assert.That(file.Data, Is.EqualTo(data));
    }

    [Test]
    public void Read_detects_compression_by_magic_bytes_not_by_file_name()
    {
        var data = IdxBytes.Pattern(12);
        string gzipWithoutSuffix = Path.Combine(_dir, "images-idx3-ubyte");
        string rawWithSuffix = Path.Combine(_dir, "images-idx3-ubyte.gz");

        IdxFile.Write(gzipWithoutSuffix, [3, 2, 2], data, gzip: true);
        IdxFile.Write(rawWithSuffix, [3, 2, 2], data, gzip: false);

        Assert.That(File.ReadAllBytes(gzipWithoutSuffix)[..2], Is.EqualTo(new byte[] { 0x1f, 0x8b }));
        Assert.That(IdxFile.Read(gzipWithoutSuffix).Data, Is.EqualTo(data));
        Assert.That(IdxFile.Read(rawWithSuffix).Data, Is.EqualTo(data));
    }

    [Test]
    public void Read_from_stream_leaves_it_open()
    {
        var bytes = IdxBytes.Gzip(IdxBytes.UnsignedBytes([4], [1, 2, 3, 4]));
        using var stream = new MemoryStream(bytes);

        var file = IdxFile.Read(stream, "memory");

        Assert.That(file.Data, Is.EqualTo(new byte[] { 1, 2, 3, 4 }));
        Assert.That(stream.CanRead, Is.True);
    }

    [Test]
    public void Refuses_wrong_magic()
    {
        var bytes = IdxBytes.UnsignedBytes([2], [1, 2]);
        bytes[1] = 0x42;

        var ex = RefuseFile("wrong-magic.idx", bytes);

        Assert.That(ex.Message, Does.Contain("wrong-magic.idx").And.Contain("not an IDX file").And.Contain("0x42"));
    }

    [Test]
    public void Refuses_unsupported_element_type_naming_it()
    {
        var ex = RefuseFile("floats.idx", IdxBytes.Raw(0x0D, [1], [0, 0, 0x80, 0x3f]));

        Assert.That(ex.Message, Does.Contain("floats.idx").And.Contain("0x0D").And.Contain("float32").And.Contain("only 0x08"));
    }

    [TestCase(0)]
    [TestCase(5)]
    public void Refuses_unsupported_dimension_count(int rank)
    {
        var bytes = IdxBytes.UnsignedBytes(Enumerable.Repeat(1, rank).ToArray(), [7]);

        var ex = RefuseFile("rank.idx", bytes);

        Assert.That(ex.Message, Does.Contain("rank.idx").And.Contain($"declares {rank} dimensions").And.Contain("1 to 4"));
    }

    [Test]
    public void Refuses_zero_dimension()
    {
        var ex = RefuseFile("zero.idx", IdxBytes.UnsignedBytes([3, 0, 2], []));

        Assert.That(ex.Message, Does.Contain("zero.idx").And.Contain("dimension 2 of 3 is 0").And.Contain("must be positive"));
    }

    [Test]
    public void Refuses_truncated_header()
    {
        var bytes = IdxBytes.UnsignedBytes([10, 28, 28], [])[..9];

        var ex = RefuseFile("short-header.idx", bytes);

        Assert.That(ex.Message, Does.Contain("short-header.idx").And.Contain("truncated header"));
    }

    [Test]
    public void Refuses_empty_file()
    {
        var ex = RefuseFile("empty.idx", []);

        Assert.That(ex.Message, Does.Contain("empty.idx").And.Contain("empty"));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void Refuses_truncated_data_saying_what_the_header_promised(bool gzip)
    {
        var bytes = IdxBytes.UnsignedBytes([10, 28, 28], IdxBytes.Pattern(123));

        var ex = RefuseFile("t10k-images-idx3-ubyte.gz", gzip ? IdxBytes.Gzip(bytes) : bytes);

        Assert.That(ex.Message, Does.Contain("t10k-images-idx3-ubyte.gz: truncated")
            .And.Contain("10x28x28 = 7840 bytes").And.Contain("holds 123 bytes").And.Contain("re-download or re-copy"));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void Refuses_trailing_bytes(bool gzip)
    {
        var bytes = IdxBytes.UnsignedBytes([2, 2], IdxBytes.Pattern(4 + 3));

        var ex = RefuseFile("trailing.idx", gzip ? IdxBytes.Gzip(bytes) : bytes);

        Assert.That(ex.Message, Does.Contain("trailing.idx").And.Contain("trailing data").And.Contain("2x2 = 4 bytes").And.Contain("3 more bytes"));
    }

    [Test]
    public void Refuses_corrupt_gzip()
    {
        var bytes = IdxBytes.Gzip(IdxBytes.UnsignedBytes([1000], IdxBytes.Pattern(1000)));
        bytes.AsSpan(10, bytes.Length - 10).Fill(0xff);

        var ex = RefuseFile("corrupt.gz", bytes);

        Assert.That(ex.Message, Does.Contain("corrupt.gz").And.Contain("corrupt gzip data").And.Contain("re-download or re-copy"));
        Assert.That(ex.InnerException, Is.InstanceOf<InvalidDataException>());
    }

    [Test]
    public void Refuses_corrupt_gzip_checksum()
    {
        var bytes = IdxBytes.Gzip(IdxBytes.UnsignedBytes([1000], IdxBytes.Pattern(1000)));
        bytes[^8] ^= 0xff;

        var ex = RefuseFile("crc.gz", bytes);

        Assert.That(ex.Message, Does.Contain("crc.gz").And.Contain("corrupt gzip data"));
    }

    [Test]
    public void Stream_errors_name_the_source()
    {
        using var stream = new MemoryStream(IdxBytes.Raw(0x0C, [1], [0, 0, 0, 1]));

        var ex = Assert.Throws<DatasetException>(() => IdxFile.Read(stream, "socket:9000"))!;

        Assert.That(ex.Message, Does.StartWith("socket:9000: ").And.Contain("int32"));
    }

    [Test]
    public void Refuses_missing_file()
    {
        string path = Path.Combine(_dir, "absent-idx1-ubyte");

        var ex = Assert.Throws<DatasetException>(() => IdxFile.Read(path))!;

        Assert.That(ex.Message, Does.Contain(path).And.Contain("cannot open"));
    }

    [Test]
    public void Write_refuses_data_that_does_not_fill_the_dimensions()
    {
        string path = Path.Combine(_dir, "bad-write");

        Assert.That(() => IdxFile.Write(path, [2, 3], new byte[5], gzip: false), Throws.ArgumentException);
        Assert.That(() => IdxFile.Write(path, [2, 0], [], gzip: false), Throws.ArgumentException);
        Assert.That(() => IdxFile.Write(path, [], [], gzip: false), Throws.ArgumentException);
    }

    private DatasetException RefuseFile(string name, byte[] contents)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, contents);
        return Assert.Throws<DatasetException>(() => IdxFile.Read(path))!;
    }
}
