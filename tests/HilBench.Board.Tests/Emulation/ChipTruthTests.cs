using HilBench.Board.Emulation;

namespace HilBench.Board.Tests.Emulation;

[TestFixture]
public class ChipTruthTests
{
    private string _path = null!;

    [SetUp]
    public void MakePath() => _path = Path.Combine(Path.GetTempPath(), $"truth-{Guid.NewGuid():N}.txt");

    [TearDown]
    public void RemoveFile() => File.Delete(_path);

    [Test]
    public void FailingCellsOfARangeThatStartsLaterInTheMemory()
    {
        // Cells 8*5+1 (stuck 1) and 8*6+2 (stuck 0); a third fails only below 500 mV.
        File.WriteAllLines(_path, ["# seed 1", "# columns cell critical_uv stuck marginal", "41 600000 1 0", "50 600000 0 0", "51 400000 1 0"]);
        var truth = ChipTruth.Load(_path);
        Assert.That(truth.Header["seed"], Is.EqualTo("1"));
        byte[] written = [0x00, 0xFF]; // bytes 5 and 6
        Assert.That(truth.FailingCells(550, written, firstByte: 5), Is.EqualTo(new long[] { 41, 50 }));
        Assert.That(truth.FailingCells(550, [0x02, 0x00], firstByte: 5), Is.Empty, "each cell already holds its stuck value");
        Assert.That(truth.FailingCells(650, written, firstByte: 5), Is.Empty);
    }

    [TestCase("17 495000 0")]
    [TestCase("17 495000 2 0")]
    [TestCase("x 495000 0 0")]
    [TestCase("17 4.95e5 0 0")]
    public void AMalformedLineIsNamedWithItsFileAndLine(string bad)
    {
        File.WriteAllLines(_path, ["# seed 1", "57 495831 0 0", bad]);
        var e = Assert.Throws<InvalidDataException>(() => ChipTruth.Load(_path));
        Assert.That(e!.Message, Does.StartWith($"{_path}, line 3:").And.Contain(bad).And.Contain("hilboard-emu --truth"));
    }
}
