using HilBench.Memory.Images;

namespace HilBench.Board.Tests.Support;

internal static class Clients
{
    /// <summary>Client options for an in-process board: short timeouts so fault tests take milliseconds, no lease keeper unless asked.</summary>
    public static BoardClientOptions Fast(bool keepLeaseAlive = false, int? floorMv = null) => new()
    {
        ReplyTimeout = TimeSpan.FromMilliseconds(250),
        Backoff = TimeSpan.FromMilliseconds(1),
        KeepLeaseAlive = keepLeaseAlive,
        VoltageFloorMv = floorMv,
    };

    public static BoardClient Connect(FakeBoard board, BoardClientOptions? options = null) => BoardClient.Connect(board.Connect(), options ?? Fast());

    /// <summary>An image of <paramref name="bits"/> seeded random bits in two regions (a layer and a smaller one).</summary>
    public static WeightImage RandomImage(long bits, int seed)
    {
        const int row = 64;
        long rows = bits / row, rest = bits - rows * row;
        var regions = new List<ImageRegion> { new(0, RegionKind.Weights, 0, (int)rows, row) };
        if (rest > 0) regions.Add(new ImageRegion(1, RegionKind.Weights, rows * row, 1, (int)rest));
        var image = new WeightImage(new ImageLayout(regions));
        var random = new Random(seed);
        for (long i = 0; i < bits; i++) image[i] = random.Next(2) == 1;
        return image;
    }
}
