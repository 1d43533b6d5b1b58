using System.Diagnostics;
using HilBench.Board.Protocol;
using HilBench.Board.Tests.Support;
using HilBench.Memory;
using HilBench.Memory.Backends;

namespace HilBench.Board.Tests.Client;

[TestFixture]
public class BoardClientTests
{
    private FakeBoard _board = null!;
    private BoardClient _client = null!;

    [SetUp]
    public void Connect()
    {
        _board = new FakeBoard();
        _client = Clients.Connect(_board);
    }

    [TearDown]
    public void Disconnect()
    {
        _client.Dispose();
        _board.Dispose();
    }

    private static byte[] RandomBytes(int n, int seed)
    {
        var data = new byte[n];
        new Random(seed).NextBytes(data);
        return data;
    }

    private IEnumerable<ushort> IdsReceived(Command command) => _board.Received.Where(r => r.Command == command).Select(r => r.Id);

    [Test]
    public void HelloLearnsTheBoard()
    {
        Assert.That(_client.Board.Firmware, Is.EqualTo("fake-board 0.1"));
        Assert.That(_client.Board.Geometry.ToString(), Is.EqualTo("8x64x32"));
        Assert.That(_client.LeaseMs, Is.EqualTo(5000));
        Assert.That(_board.Received, Is.EqualTo(new[] { ((ushort)1, Command.Hello) }), "the first request id is 1");
    }

    [Test]
    public void WriteSplitsIntoChunksAndReadsBack()
    {
        var data = RandomBytes(2000, 1);
        _client.Write(48, data);
        Assert.That(_client.Read(48, data.Length), Is.EqualTo(data));
        Assert.That(_board.Memory.AsSpan(48, data.Length).ToArray(), Is.EqualTo(data));

        using var big = new FakeBoard(new HilBench.Memory.Geometry.MemoryGeometry(4, 1024, 32));
        using var client = Clients.Connect(big);
        var large = RandomBytes(10_000, 2);
        client.Write(100, large);
        Assert.That(big.ExecutedCount(Command.Write), Is.EqualTo(3), "4092 + 4092 + 1816 bytes");
        Assert.That(client.Read(100, large.Length), Is.EqualTo(large));
        Assert.That(big.ExecutedCount(Command.Read), Is.EqualTo(3), "4096 + 4096 + 1808 bytes");
    }

    [Test]
    public void CountsTheBytesOnTheWire()
    {
        var before = _client.Statistics;
        _client.Write(0, RandomBytes(1000, 3));
        var used = _client.Statistics - before;
        Assert.That(used.Requests, Is.EqualTo(1));
        Assert.That(used.BytesSent, Is.InRange(1000 + 16, 1000 + 16 + 10), "payload, header, CRC, COBS codes and the delimiter");
        Assert.That(used.BytesReceived, Is.EqualTo(FrameEncoder.Encode(Frame.Reply(2, Command.Write, Status.Ok)).Length));
    }

    [Test]
    public void CompareFollowsPartialRepliesToTheEnd()
    {
        var random = new Random(4);
        _client.Write(0, RandomBytes((int)_board.Description.TotalBytes, 4));
        for (int i = 0; i < 300; i++) _board.AddWeakCell(random.Next(16384), random.Next(500, 1000), random.Next(2) == 1);
        _board.CompareReplyLimit = 40;
        _client.SetOperatingPoint(600);
        var bits = _client.CompareWritten(0, _board.Description.TotalBytes);
        Assert.That(bits, Is.EqualTo(_board.FailingCells(600)));
        Assert.That(bits, Has.Length.GreaterThan(30));
        Assert.That(_board.ExecutedCount(Command.Compare), Is.GreaterThan(3));
    }

    [Test]
    public void ComparePatternStaysAlignedAcrossPartialReplies()
    {
        byte[] pattern = [0xFF, 0x0F, 0xF0];
        _client.Fill(0, 600, pattern);
        _board.CompareReplyLimit = 12;
        _board.AddWeakCell(8 * 301 + 2, 900, false);
        _client.SetOperatingPoint(600);
        Assert.That(_client.Compare(0, 600, pattern), Is.EqualTo(new long[] { 8 * 301 + 2 }));
        // Against a pattern that is wrong everywhere, with replies cut short after a byte or two.
        var all = _client.Compare(0, 16, [0x00]);
        Assert.That(all, Has.Length.EqualTo(Enumerable.Range(0, 16).Sum(i => System.Numerics.BitOperations.PopCount(pattern[i % 3]))));
    }

    [Test]
    public void FlippedBitInAReplyIsResentUnderTheSameIdAndExecutedOnce()
    {
        _board.FlipBitInReplies = 1;
        _client.Write(0, RandomBytes(100, 5));
        Assert.That(IdsReceived(Command.Write).ToArray(), Has.Length.EqualTo(2).And.All.EqualTo(2));
        Assert.That(_board.ExecutedCount(Command.Write), Is.EqualTo(1));
    }

    [Test]
    public void DroppedReplyTimesOutAndTheResendGetsTheCachedReply()
    {
        _client.SetOperatingPoint(700);
        _board.DropReplies = 1;
        var applied = _client.SetOperatingPoint(650);
        Assert.That(applied.VoltageMv, Is.EqualTo(650));
        Assert.That(IdsReceived(Command.SetOp).Skip(1).Distinct().Count(), Is.EqualTo(1), "the resend kept its id");
        Assert.That(_board.Voltages, Is.EqualTo(new ushort[] { 700, 650 }), "SET_OP applied once");
        Assert.That(_client.Statistics.Timeouts, Is.EqualTo(1));
    }

    [Test]
    public void GarbageBeforeRepliesIsSkipped()
    {
        _board.GarbageBeforeReplies = 5;
        for (int i = 0; i < 5; i++) _client.GetTelemetry();
        Assert.That(_client.DecoderCounts.Rejected, Is.GreaterThanOrEqualTo(5));
        Assert.That(_client.Statistics.Retries, Is.Zero, "garbage ended by a delimiter does not hide the reply after it");
    }

    [Test]
    public void TruncatedReplyIsRecovered()
    {
        var data = RandomBytes(300, 6);
        _client.Write(0, data);
        _board.TruncateReplies = 1;
        Assert.That(_client.Read(0, 300), Is.EqualTo(data));
        Assert.That(IdsReceived(Command.Read).Distinct().Count(), Is.EqualTo(1));
        Assert.That(_board.ExecutedCount(Command.Read), Is.EqualTo(1));
    }

    [Test]
    public void ARequestDamagedOnTheWayIsAnsweredWithIdZeroAndResentAtOnce()
    {
        _board.DamageRequests = 1;
        _client.Write(0, [1, 2, 3]);
        Assert.That(_client.Statistics.Timeouts, Is.Zero, "the BAD_CRC reply carries id 0, not the damaged id, so it is not dropped as stale and waited out");
        Assert.That(_client.Statistics.Retries, Is.EqualTo(1));
        Assert.That(IdsReceived(Command.Write).ToArray(), Is.EqualTo(new ushort[] { 2 }), "the damaged frame is not counted as received; the resend keeps id 2");
        Assert.That(_board.ExecutedCount(Command.Write), Is.EqualTo(1));
    }

    [Test]
    public void BusyIsRetriedWithTheSameId()
    {
        _board.BusyReplies = 1;
        _client.Write(0, [1, 2, 3]);
        Assert.That(IdsReceived(Command.Write).ToArray(), Is.EqualTo(new ushort[] { 2, 2 }));
        Assert.That(_board.ExecutedCount(Command.Write), Is.EqualTo(1));
    }

    [Test]
    public void ABadLengthRefusedAgainIsAWrongPayloadSizeNotALostLink()
    {
        _board.Refuse = (Command.SetOp, Status.BadLength);
        _board.RefuseTimes = 10;
        var e = Assert.Throws<BoardStatusException>(() => _client.SetOperatingPoint(700));
        TestContext.Out.WriteLine(e!.Message);
        Assert.That(e.Status, Is.EqualTo(Status.BadLength));
        Assert.That(e.Message, Does.Contain("refused SET_OP 700 mV").And.Contain("BAD_LENGTH").And.Contain("payload's size is wrong for the command"));
        Assert.That(IdsReceived(Command.SetOp).ToArray(), Is.EqualTo(new ushort[] { 2, 2 }), "sent once more, under the same id, then reported");
        Assert.That(_client.Statistics.Reconnects, Is.Zero);

        _board.Refuse = (Command.SetOp, Status.BadLength);
        _board.RefuseTimes = 1;
        Assert.That(_client.SetOperatingPoint(700).VoltageMv, Is.EqualTo(700), "a single BAD_LENGTH (a length field damaged on the way) is resent");
    }

    [Test]
    public void StaleRepliesAreDiscarded()
    {
        _board.StaleBeforeReplies = 3;
        for (int i = 0; i < 3; i++) _client.GetTelemetry();
        Assert.That(_client.Statistics.StaleReplies, Is.EqualTo(3));
        Assert.That(_client.Statistics.Retries, Is.Zero);
    }

    [Test]
    public void LateReplyIsUsedAndItsDuplicateDiscarded()
    {
        _board.ReplyDelay = Clients.Fast().ReplyTimeout + TimeSpan.FromMilliseconds(100);
        _client.Write(0, [9]);
        _board.ReplyDelay = TimeSpan.Zero;
        Assert.That(_client.Read(0, 1), Is.EqualTo(new byte[] { 9 }));
        Assert.That(_board.ExecutedCount(Command.Write), Is.EqualTo(1));
        Assert.That(_client.Statistics.StaleReplies, Is.GreaterThanOrEqualTo(1), "the answer to the resend arrives after the next request went out");
    }

    [Test]
    public void RequestIdsWrapFrom65535ToOneNeverZero()
    {
        _client.LastRequestId = 65534;
        for (int i = 0; i < 3; i++) _client.GetTelemetry();
        Assert.That(IdsReceived(Command.GetTelemetry), Is.EqualTo(new ushort[] { 65535, 1, 2 }));
    }

    [Test]
    public void SilentBoardIsALostLinkNamingThePort()
    {
        _board.Silent = true;
        var clock = Stopwatch.StartNew();
        var e = Assert.Throws<MemoryBackendException>(() => _client.Write(0, [1, 2, 3]));
        clock.Stop();
        TestContext.Out.WriteLine($"{e!.Message} ({clock.ElapsedMilliseconds} ms)");
        Assert.That(e.Retryable, Is.True);
        Assert.That(e.Message, Does.StartWith("board on /dev/fake-board did not answer WRITE (request 2) after 5 attempts"));
        Assert.That(e.Message, Does.Contain("reopening").And.Contain("check the cable/port"));
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(8)), "5 attempts, a reopen, a HELLO of 5 attempts: 10 x 250 ms plus back-offs");
        Assert.That(_board.ExecutedCount(Command.Write), Is.EqualTo(1), "a silent board still executes, once");
    }

    [Test]
    public void WithoutReconnectTheLinkIsLostAfterTheRetries()
    {
        using var client = Clients.Connect(_board, Clients.Fast() with { Reconnect = false, Retries = 2 });
        _board.Silent = true;
        var e = Assert.Throws<MemoryBackendException>(() => client.GetTelemetry());
        Assert.That(e!.Message, Does.Contain("GET_TELEMETRY").And.Contain("after 3 attempts").And.Not.Contain("reopening"));
    }

    [Test]
    public void LostLinkIsReopenedOnceWithAFreshHello()
    {
        _client.SetOperatingPoint(800);
        _board.DropLink();
        var telemetry = _client.GetTelemetry();
        Assert.That(telemetry.SetVoltageMv, Is.EqualTo(800), "the board kept its point; only the cable was replugged");
        Assert.That(_client.Statistics.Reconnects, Is.EqualTo(1));
        Assert.That(_board.ExecutedCount(Command.Hello), Is.EqualTo(2));
    }

    [Test]
    public void ARequestIsNotRepeatedAfterReconnectingToABoardThatLostItsPoint()
    {
        using var board = new FakeBoard(leaseMs: 300);
        using var client = Clients.Connect(board);
        client.Write(0, new byte[16]);
        board.AddWeakCell(5, 900, true);
        client.SetOperatingPoint(600);
        board.Unplugged = true; // 5 attempts of 250 ms: the 300 ms lease runs out before the port is reopened
        var e = Assert.Throws<MemoryBackendException>(() => client.CompareWritten(0, 16));
        TestContext.Out.WriteLine(e!.Message);
        Assert.That(e.Retryable, Is.True);
        Assert.That(e.InnerException, Is.TypeOf<BoardStateLostException>().With.Property(nameof(BoardStateLostException.MemoryLost)).False);
        Assert.That(e.Message, Does.Contain("lost its operating point").And.Contain("600 mV").And.Contain("COMPARE of 16 bytes").And.Contain("measured again"));
        Assert.That(board.ExecutedCount(Command.Compare), Is.Zero, "not run at the nominal point the board went back to");
        Assert.That(client.AppliedPoint?.VoltageMv, Is.EqualTo((ushort)1000), "the client knows where the board is now");

        client.SetOperatingPoint(600);
        Assert.That(client.CompareWritten(0, 16), Is.EqualTo(new long[] { 5 }), "measuring the point again works");
    }

    [Test]
    public void ASetOpAfterReconnectingToABoardThatLostItsPointIsSent()
    {
        using var board = new FakeBoard(leaseMs: 300);
        using var client = Clients.Connect(board);
        client.SetOperatingPoint(600);
        board.Unplugged = true; // the lease runs out while the host resends: the board is already where the SET_OP takes it
        Assert.That(client.RestoreNominal().VoltageMv, Is.EqualTo(1000));
        Assert.That(client.Statistics.Reconnects, Is.EqualTo(1));
        Assert.That(board.Voltages, Is.EqualTo(new ushort[] { 600, 1000 }));
        Assert.That(client.AppliedPoint?.VoltageMv, Is.EqualTo((ushort)1000));
        Assert.That(client.GetTelemetry().SetVoltageMv, Is.EqualTo(1000), "no loss left to report");
    }

    [Test]
    public void AWriteAfterReconnectingToABoardThatLostItsPointIsSentAndTheNextCompareReportsTheLoss()
    {
        using var board = new FakeBoard(leaseMs: 300);
        using var client = Clients.Connect(board);
        board.AddWeakCell(5, 900, true);
        client.SetOperatingPoint(600);
        board.Unplugged = true;
        client.Write(0, new byte[16]);
        Assert.That(board.ExecutedCount(Command.Write), Is.EqualTo(1), "a WRITE does not depend on the point");
        var e = Assert.Throws<MemoryBackendException>(() => client.CompareWritten(0, 16));
        TestContext.Out.WriteLine(e!.Message);
        Assert.That(e.InnerException, Is.TypeOf<BoardStateLostException>().With.Property(nameof(BoardStateLostException.MemoryLost)).False);
        Assert.That(e.Message, Does.Contain("lost its operating point").And.Contain("COMPARE of 16 bytes at byte 0 was not sent"));
        Assert.That(board.ExecutedCount(Command.Compare), Is.Zero, "not run at nominal as if at 600 mV");

        client.SetOperatingPoint(600);
        Assert.That(client.CompareWritten(0, 16), Is.EqualTo(new long[] { 5 }), "measuring the point again works");
    }

    [Test]
    public void ACompareAnsweredAfterResendsThatOutlastedTheLeaseIsNotTakenForThePoint()
    {
        using var board = new FakeBoard(leaseMs: 300);
        using var client = Clients.Connect(board);
        client.Write(0, new byte[16]);
        board.AddWeakCell(5, 900, true);
        client.SetOperatingPoint(600);
        board.UnplugFor(TimeSpan.FromMilliseconds(600)); // the resend at 750 ms gets through, after the 300 ms lease ran out
        var e = Assert.Throws<MemoryBackendException>(() => client.CompareWritten(0, 16));
        TestContext.Out.WriteLine(e!.Message);
        Assert.That(e.InnerException, Is.TypeOf<BoardStateLostException>());
        Assert.That(e.Message, Does.Contain("lost its operating point").And.Contain("the reply to COMPARE of 16 bytes at byte 0 was discarded"));
        Assert.That(board.ExecutedCount(Command.Compare), Is.EqualTo(1), "it ran, at nominal");
        Assert.That(client.Statistics.Reconnects, Is.Zero);
    }

    [Test]
    public void ARefusedTelemetryCheckAfterResendsIsNamedForTheResends()
    {
        using var board = new FakeBoard(leaseMs: 300);
        using var client = Clients.Connect(board);
        client.Write(0, new byte[16]);
        client.SetOperatingPoint(600);
        board.Executing = command => { if (command == Command.Compare) board.Refuse = (Command.GetTelemetry, Status.Internal); };
        board.UnplugFor(TimeSpan.FromMilliseconds(600)); // the resend gets through after the lease ran out, so telemetry is checked
        var e = Assert.Throws<BoardStatusException>(() => client.CompareWritten(0, 16));
        TestContext.Out.WriteLine(e!.Message);
        Assert.That(e.Message, Does.Contain("GET_TELEMETRY after resends").And.Not.Contain("reconnecting"));
        Assert.That(client.Statistics.Reconnects, Is.Zero);
    }

    [Test]
    public void ARestartIsToldFromTheUptimeAcrossItsU32Wrap()
    {
        const long t0 = 10_000_000_000;
        Assert.That(_client.ObserveUptime(4_000_000_000, t0), Is.False, "the first uptime only sets the boot time");
        // 3.5 days later the board's u32 ms counter has wrapped: same boot.
        long t1 = t0 + 300_000_000;
        Assert.That(_client.ObserveUptime((uint)((4_000_000_000L + 300_000_000) % (1L << 32)), t1), Is.False);
        // Clocks that disagree by less than a second are the same boot.
        Assert.That(_client.ObserveUptime((uint)((4_300_000_000L + 10_900) % (1L << 32)), t1 + 10_000), Is.False);
        Assert.That(_client.ObserveUptime(5_000, t1 + 20_000), Is.True, "up for 5 s where 49.8 days were due: a restart");
        Assert.That(_client.ObserveUptime(6_000, t1 + 21_000), Is.False, "the new boot is remembered");
    }

    [Test]
    public void ARestartIsToldOfABoardFirstSeenAfterHalfTheUptimeWrap()
    {
        const long day = 86_400_000, t0 = 10_000_000_000;
        // First seen 30 days after it booted: more than half of the 49.7-day wrap.
        Assert.That(_client.ObserveUptime((uint)(30 * day), t0), Is.False);
        Assert.That(_client.ObserveUptime((uint)(30 * day + 3_600_000), t0 + 3_600_000), Is.False, "an hour later, the same boot");
        Assert.That(_client.ObserveUptime(5_000, t0 + 7_200_000), Is.True, "up for 5 s where 30 days were due: a restart");
        Assert.That(_client.ObserveUptime(65_000, t0 + 7_260_000), Is.False, "the new boot is remembered");
        // 20 days on, still the same boot (no wrap yet); then 49.7 days after that boot, the counter wraps.
        Assert.That(_client.ObserveUptime((uint)(20 * day + 5_000), t0 + 7_200_000 + 20 * day), Is.False);
        long wrapped = t0 + 7_195_000 + (1L << 32) + 60_000;
        Assert.That(_client.ObserveUptime(60_000, wrapped), Is.False, "the wrap of the same boot is not a restart");
        Assert.That(_client.ObserveUptime(10_000, wrapped + 10_000), Is.True, "10 s of uptime 70 s after the wrap: a restart");
    }

    [Test]
    public void AnUptimeLongerThanTheKnownBootAllowsIsAnotherBoot()
    {
        const long t0 = 10_000_000_000;
        Assert.That(_client.ObserveUptime(60_000, t0), Is.False);
        Assert.That(_client.ObserveUptime(3_600_000, t0 + 1000), Is.True, "up for an hour, a second after it was up for a minute: not the board that was seen");
    }

    [Test]
    public void ARestartWithTheLinkLeftOpenIsReportedByTheNextTelemetry()
    {
        _client.Write(0, [1, 2, 3]);
        _client.SetOperatingPoint(600);
        _client.GetTelemetry();
        _board.Restart(dropLink: false);
        var e = Assert.Throws<MemoryBackendException>(() => _client.GetTelemetry());
        TestContext.Out.WriteLine(e!.Message);
        Assert.That(e.Retryable, Is.True);
        Assert.That(e.InnerException, Is.TypeOf<BoardStateLostException>().With.Property(nameof(BoardStateLostException.MemoryLost)).True);
        Assert.That(e.Message, Does.Contain("restarted").And.Contain("link stayed open").And.Contain("write the data again"));
        Assert.That(_client.Statistics.Reconnects, Is.Zero);
        Assert.That(_client.AppliedPoint?.VoltageMv, Is.EqualTo((ushort)1000), "the client knows the board is at nominal again");
        Assert.That(_client.GetTelemetry().SetVoltageMv, Is.EqualTo(1000), "reported once; the new boot is remembered");
    }

    [Test]
    public void ARestartSeenByTheLeaseKeeperIsReportedByTheNextRequest()
    {
        using var board = new FakeBoard(leaseMs: 300);
        using var client = Clients.Connect(board, Clients.Fast(keepLeaseAlive: true));
        client.Write(0, new byte[16]);
        client.SetOperatingPoint(600);
        client.GetTelemetry();
        board.Restart(dropLink: false);
        long renewals = client.Statistics.LeaseRenewals;
        var clock = Stopwatch.StartNew();
        while (client.Statistics.LeaseRenewals == renewals && clock.Elapsed < TimeSpan.FromSeconds(5)) Thread.Sleep(10);
        Assert.That(client.Statistics.LeaseRenewals, Is.GreaterThan(renewals), "a renewal saw the restarted board");
        int compares = board.ExecutedCount(Command.Compare);
        var e = Assert.Throws<MemoryBackendException>(() => client.CompareWritten(0, 16));
        TestContext.Out.WriteLine(e!.Message);
        Assert.That(e.Retryable, Is.True);
        Assert.That(e.InnerException, Is.TypeOf<BoardStateLostException>().With.Property(nameof(BoardStateLostException.MemoryLost)).True);
        Assert.That(e.Message, Does.Contain("lease renewal").And.Contain("COMPARE of 16 bytes at byte 0 was not sent"));
        Assert.That(board.ExecutedCount(Command.Compare), Is.EqualTo(compares), "not compared against wiped memory");
        Assert.That(client.CompareWritten(0, 16), Is.Empty, "reported once");
    }

    [Test]
    public void HostFloorRefusesBeforeSending()
    {
        using var client = Clients.Connect(_board, Clients.Fast(floorMv: 600));
        var e = Assert.Throws<OperatingPointException>(() => client.SetOperatingPoint(550));
        Assert.That(e!.Message, Does.Contain("550 mV").And.Contain("600 mV").And.Contain("host floor is 600 mV").And.Contain("floor is 500 mV"));
        Assert.Throws<OperatingPointException>(() => client.SetOperatingPoint(new OperatingPoint(0.595)));
        Assert.That(_board.ExecutedCount(Command.SetOp), Is.Zero);
        Assert.That(client.SetOperatingPoint(600).VoltageMv, Is.EqualTo(600));
    }

    [Test]
    public void BoardFloorIsCheckedOnTheHostAndByTheBoard()
    {
        var e = Assert.Throws<OperatingPointException>(() => _client.SetOperatingPoint(450));
        Assert.That(e!.Message, Does.Contain("500 mV").And.Contain("no host floor"));
        Assert.That(_board.Received.Count(r => r.Command == Command.SetOp), Is.Zero);

        var reply = _client.Send(Command.SetOp, Requests.SetOp(new BoardOperatingPoint(450)));
        Assert.That(reply.Status, Is.EqualTo(Status.VoltageFloor));
        Assert.That(_board.VoltageMv, Is.EqualTo(1000), "nothing changes on an error");
    }

    [Test]
    public void ErrorStatusesBecomeExceptionsNamingTheCommand()
    {
        var range = Assert.Throws<BoardStatusException>(() => _client.Read(2040, 16));
        Assert.That(range!.Status, Is.EqualTo(Status.AddressRange));
        Assert.That(range.Message, Does.Contain("READ of 16 bytes at byte 2040").And.Contain("ADDRESS_RANGE").And.Contain("2048 bytes"));

        var step = Assert.Throws<BoardStatusException>(() => _client.SetOperatingPoint(552));
        Assert.That(step!.Status, Is.EqualTo(Status.BadArgument));
        Assert.That(step.Message, Does.Contain("SET_OP 552 mV").And.Contain("BAD_ARGUMENT"));

        _board.Refuse = (Command.Compare, Status.Internal);
        var failed = Assert.Throws<BoardStatusException>(() => _client.CompareWritten(0, 100));
        Assert.That(failed!.Message, Does.Contain("COMPARE").And.Contain("INTERNAL"));
    }

    [Test]
    public void AnEmptyCompareIsRefusedBeforeSending()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => _client.CompareWritten(100, 0));
        Assert.That(e!.Message, Does.Contain("at least 1 byte").And.Contain("byte 100"));
        Assert.Throws<ArgumentOutOfRangeException>(() => _client.Compare(0, 0, [0xFF]));
        Assert.That(_board.Received.Count(r => r.Command == Command.Compare), Is.Zero);
    }

    [Test]
    public void PointsAreConvertedToTheBoardsStepsOrRefused()
    {
        Assert.That(_client.ToBoardPoint(new OperatingPoint(0.55)), Is.EqualTo(new BoardOperatingPoint(550)));
        Assert.That(_client.ToBoardPoint(new OperatingPoint(0.1 * 5.5)), Is.EqualTo(new BoardOperatingPoint(550)), "0.55000000000000004 V is 550 mV");
        Assert.That(_client.ToBoardPoint(new OperatingPoint(0.6, null, 45)), Is.EqualTo(new BoardOperatingPoint(600, 0, 450)));
        Assert.That(_client.ToBoardPoint(new OperatingPoint(0.6, null, 25)).TemperatureDeciC, Is.EqualTo(BoardOperatingPoint.NominalTemperature));

        var e = Assert.Throws<OperatingPointException>(() => _client.ToBoardPoint(new OperatingPoint(0.552)));
        Assert.That(e!.Message, Does.Contain("V=0.552").And.Contain("5 mV step").And.Contain("550 and 555"));
        e = Assert.Throws<OperatingPointException>(() => _client.ToBoardPoint(new OperatingPoint(1.05)));
        Assert.That(e!.Message, Does.Contain("maximum").And.Contain("1000 mV"));
        e = Assert.Throws<OperatingPointException>(() => _client.ToBoardPoint(new OperatingPoint(0.6, 10)));
        Assert.That(e!.Message, Does.Contain("tRCD"));
        e = Assert.Throws<OperatingPointException>(() => _client.ToBoardPoint(new OperatingPoint(0.6, null, 47)));
        Assert.That(e!.Message, Does.Contain("T=47"));
        e = Assert.Throws<OperatingPointException>(() => _client.ToBoardPoint(new OperatingPoint(0.6, null, 90)));
        Assert.That(e!.Message, Does.Contain("outside"));
    }

    [Test]
    public void LeaseIsRenewedWhileTheBoardIsBelowNominal()
    {
        using var board = new FakeBoard(leaseMs: 300);
        using var client = Clients.Connect(board, Clients.Fast(keepLeaseAlive: true));
        client.SetOperatingPoint(600);
        Thread.Sleep(1000);
        TestContext.Out.WriteLine($"renewals {client.Statistics.LeaseRenewals}, keeper error {client.LeaseKeeperError?.Message ?? "none"}, lease {client.LeaseMs} ms");
        Assert.That(board.LeaseExpired, Is.False);
        Assert.That(board.VoltageMv, Is.EqualTo(600));
        Assert.That(client.Statistics.LeaseRenewals, Is.GreaterThanOrEqualTo(3), "idle for a third of 300 ms, a renewal each time");
        Assert.That(board.ExecutedCount(Command.GetTelemetry), Is.EqualTo(client.Statistics.LeaseRenewals));

        client.RestoreNominal();
        long renewals = client.Statistics.LeaseRenewals;
        Thread.Sleep(400);
        Assert.That(client.Statistics.LeaseRenewals, Is.EqualTo(renewals), "at nominal there is nothing to protect");
    }

    [Test]
    public void WithoutTheLeaseKeeperTheBoardReturnsToNominalAndTheTelemetryThatShowsItIsAnError()
    {
        using var board = new FakeBoard(leaseMs: 300);
        using var client = Clients.Connect(board);
        client.SetOperatingPoint(600);
        Thread.Sleep(600);
        // What was read at "600 mV" since may have been read at nominal: the telemetry that shows it says so.
        var e = Assert.Throws<MemoryBackendException>(() => client.GetTelemetry());
        Assert.That(e!.InnerException, Is.TypeOf<BoardStateLostException>().With.Property(nameof(BoardStateLostException.MemoryLost)).False);
        Assert.That(e.Message, Does.Contain("lease of 300 ms ran out").And.Contain("measured again"));
        var t = client.LastTelemetry!;
        Assert.That((t.SetVoltageMv, t.LeaseExpired), Is.EqualTo(((ushort)1000, true)));
        Assert.That(client.AppliedPoint!.Value.VoltageMv, Is.EqualTo(1000), "the client now knows where the board is");
        Assert.That(client.GetTelemetry().SetVoltageMv, Is.EqualTo(1000), "reported once");
    }

    [Test]
    public void ASetOpRetriedAfterTheLeaseRanOutIsAppliedAgain()
    {
        using var board = new FakeBoard(leaseMs: 100);
        using var client = Clients.Connect(board);
        board.DropReplies = 1; // the reply is lost and the resend comes 250 ms later, after the 100 ms lease ran out
        Assert.That(client.SetOperatingPoint(650).VoltageMv, Is.EqualTo(650));
        Assert.That(board.Voltages, Is.EqualTo(new ushort[] { 650, 650 }), "the expiry emptied the reply cache, so the resend ran again");
        Assert.That(board.VoltageMv, Is.EqualTo(650), "the board is where the host believes it is");
    }

    [Test]
    public void TheFakeBoardAnswersAsTheFirmwareDoes()
    {
        byte[] read5000 = [0, 0, 0, 0, 0x88, 0x13];
        Assert.That(_client.Send(Command.Read, read5000).Status, Is.EqualTo(Status.BadArgument), "READ of more than 4096 bytes");
        Assert.That(_client.Send(Command.Read, [0, 0, 0, 0, 0, 0]).Status, Is.EqualTo(Status.AddressRange), "READ of 0 bytes");

        // A refusal is remembered like any executed request: a resend under the same id gets it again, not a fresh run.
        _board.Refuse = (Command.Compare, Status.Internal);
        _board.DropReplies = 1;
        Assert.That(Assert.Throws<BoardStatusException>(() => _client.CompareWritten(0, 16))!.Status, Is.EqualTo(Status.Internal));
        Assert.That(IdsReceived(Command.Compare).Distinct().Count(), Is.EqualTo(1));
        Assert.That(_board.ExecutedCount(Command.Compare), Is.EqualTo(1));

        // A request answered BUSY has passed the frame checks, so it renews the lease: six back-offs of 60..360 ms
        // (1.26 s in all) outlast the 500 ms lease, but no gap between the resends does.
        using var board = new FakeBoard(leaseMs: 500);
        using var client = Clients.Connect(board, Clients.Fast() with { Retries = 6, Backoff = TimeSpan.FromMilliseconds(60) });
        client.SetOperatingPoint(600);
        board.BusyReplies = 6;
        var telemetry = client.GetTelemetry();
        Assert.That((telemetry.SetVoltageMv, telemetry.LeaseExpired), Is.EqualTo(((ushort)600, false)));
    }

    [Test]
    public void ResetRestoresTheBoardsOwnDefaultLease()
    {
        using var board = new FakeBoard(leaseMs: 700);
        using var client = Clients.Connect(board);
        Assert.That(client.Lease(2000), Is.EqualTo(2000));
        Assert.That(client.LeaseMs, Is.EqualTo(2000));
        client.SetOperatingPoint(new OperatingPoint(0.7, null, 45));
        client.Reset();
        Assert.That((board.VoltageMv, board.TemperatureDeciC), Is.EqualTo(((ushort)1000, BoardOperatingPoint.NominalTemperature)));
        Assert.That(board.LeaseMs, Is.EqualTo(700), "the board's configured default, not the reference firmware's 5000 ms");
        Assert.That(client.LeaseMs, Is.EqualTo(700), "the host learns it from the board");
        Assert.That(client.AppliedPoint, Is.Null);
    }

    [Test]
    public void CancelledRequestIsNotSent()
    {
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        int before = _board.Received.Count;
        Assert.Throws<OperationCanceledException>(() => _client.Write(0, [1], cancel.Token));
        Assert.That(_board.Received, Has.Count.EqualTo(before));
    }

    [Test]
    public void RequestsBeforeHelloAreRefused()
    {
        using var client = new BoardClient(_board.Connect(), Clients.Fast());
        var e = Assert.Throws<InvalidOperationException>(() => client.GetTelemetry());
        Assert.That(e!.Message, Does.Contain("Hello"));
    }
}
