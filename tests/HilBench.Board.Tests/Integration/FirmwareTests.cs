using HilBench.Board.Emulation;
using HilBench.Board.Tests.Support;

namespace HilBench.Board.Tests.Integration;

/// <summary>The reference firmware's own C tests (golden vectors, dispatcher, emulated chip, fuzzing), run as part of this suite.</summary>
[TestFixture]
[Category("Integration")]
public class FirmwareTests
{
    [Test]
    public void TheFirmwaresOwnTestsPass()
    {
        string log = EmulatorProcess.Make(Repo.Root, "test");
        Assert.That(log, Does.Match(@"firmware tests: \d+ passed, 0 failed"), log);
        TestContext.Out.WriteLine(log.Split('\n').Last(l => l.StartsWith("firmware tests:", StringComparison.Ordinal)));
    }
}
