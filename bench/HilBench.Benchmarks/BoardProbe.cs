using System.Diagnostics;
using HilBench.Bnn.Model;
using HilBench.Board;
using HilBench.Board.Emulation;
using HilBench.Memory;
using HilBench.Memory.Backends;
using HilBench.Memory.Images;

namespace HilBench.Benchmarks;

/// <summary>
/// <c>dotnet run -c Release --project bench/HilBench.Benchmarks -- board</c>: the MLP's weight image stored on the reference
/// firmware's emulated board and compared at one voltage, over a pseudo-terminal through System.IO.Ports, as
/// <c>hilbench eval --backend board</c> does it. A real serial link adds its baud-rate time on top; the bytes on the wire
/// say how much.
/// </summary>
public static class BoardProbe
{
    public static void Run(int runs = 9)
    {
        string emulator = EmulatorProcess.Build(Repository.Root);
        using var process = EmulatorProcess.Start(emulator, seed: 1);
        var image = WeightImage.FromModel(ModelFile.Load(Path.Combine(Repository.Root, "models", "fmnist-mlp-bft0.hbnn")));
        using var backend = new BoardBackend(BoardClient.Open(process.Port));
        var at = new OperatingPoint(0.55);
        var store = new double[runs];
        var load = new double[runs];
        MemoryReadout? readout = null;
        for (int i = -1; i < runs; i++) // one warm-up round
        {
            var w = Stopwatch.StartNew();
            backend.Store(image);
            double s = w.Elapsed.TotalSeconds;
            w.Restart();
            readout = backend.Load(new LoadRequest(at));
            if (i < 0) continue;
            store[i] = s;
            load[i] = w.Elapsed.TotalSeconds;
        }
        var total = store.Zip(load, (s, l) => s + l).Order().ToArray();
        Array.Sort(store);
        Array.Sort(load);
        var stored = backend.LastStore!.Wire;
        var loaded = backend.LastLoad!.Wire;
        Console.WriteLine($"board {backend.Board.Firmware} on {process.Port}, image {image.BitCount:N0} bits ({backend.WrittenLength:N0} bytes), {runs} runs, medians:");
        Console.WriteLine($"  store (WRITE)           {store[runs / 2]:F3} s  ({stored.Requests:N0} requests, {stored.BytesSent:N0} bytes out, {stored.BytesReceived:N0} in)");
        Console.WriteLine($"  load at {at} {load[runs / 2]:F3} s  ({loaded.Requests:N0} requests, {loaded.BytesSent:N0} bytes out, {loaded.BytesReceived:N0} in, {readout!.Faults.Count:N0} faults)");
        Console.WriteLine($"  store + compare         {total[runs / 2]:F3} s (target <= 2 s); range {total[0]:F3}..{total[^1]:F3} s");
        Console.WriteLine($"  bytes on the wire per operating point: {loaded.BytesOnTheWire:N0} (a full readback would be {backend.WrittenLength:N0})");
    }
}
