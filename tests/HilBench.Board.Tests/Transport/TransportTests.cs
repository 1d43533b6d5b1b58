using System.Diagnostics;
using System.IO.Pipelines;
using HilBench.Board.Protocol;
using HilBench.Board.Tests.Support;
using HilBench.Board.Transport;
using HilBench.Memory.Backends;

namespace HilBench.Board.Tests.Transport;

[TestFixture]
public class TransportTests
{
    [Test]
    public void StreamTransportReadTimesOutWithNothingAndReturnsWhatArrives()
    {
        var toHost = new Pipe();
        using var transport = new StreamTransport(toHost.Reader.AsStream(), Stream.Null, "pipe");
        var buffer = new byte[16];
        var clock = Stopwatch.StartNew();
        Assert.That(transport.Read(buffer, TimeSpan.FromMilliseconds(100)), Is.Zero);
        Assert.That(clock.Elapsed, Is.InRange(TimeSpan.FromMilliseconds(90), TimeSpan.FromSeconds(2)));

        var writer = toHost.Writer.AsStream();
        writer.Write([1, 2, 3]);
        writer.Flush();
        int n = transport.Read(buffer, TimeSpan.FromSeconds(2));
        Assert.That(buffer[..n], Is.EqualTo(new byte[] { 1, 2, 3 }));
    }

    [Test]
    public void StreamTransportReportsTheEndOfItsInputAsALostLink()
    {
        var toHost = new Pipe();
        using var transport = new StreamTransport(toHost.Reader.AsStream(), Stream.Null, "pipe");
        toHost.Writer.Complete();
        var e = Assert.Throws<IOException>(() => transport.Read(new byte[4], TimeSpan.FromSeconds(2)));
        Assert.That(e!.Message, Does.Contain("pipe"));
    }

    [Test]
    public void SerialPortThatDoesNotExistIsARetryableFailureNamingIt()
    {
        var e = Assert.Throws<MemoryBackendException>(() => BoardClient.Open("/dev/pts/hilbench-missing"));
        Assert.That(e!.Retryable, Is.True);
        Assert.That(e.Message, Does.Contain("/dev/pts/hilbench-missing").And.Contain("does not exist").And.Contain("check the cable/port"));
    }

    [Test]
    public void BoardSpeakingOnlyANewerVersionIsRefusedClearly()
    {
        using var board = new FakeBoard { Versions = (2, 3) };
        var e = Assert.Throws<BoardStatusException>(() => Clients.Connect(board));
        Assert.That(e!.Status, Is.EqualTo(Status.BadVersion));
        Assert.That(e.Message, Does.Contain("versions 2..3").And.Contain("1..1"));
    }
}
