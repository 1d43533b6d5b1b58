using BenchmarkDotNet.Running;
using HilBench.Benchmarks;

if (args.Length > 0 && args[0] == "memory")
{
    MemoryBenchmarks.Probe();
    return;
}
if (args.Length > 0 && args[0] == "board")
{
    BoardProbe.Run();
    return;
}
if (args.Length > 0 && args[0] == "probe")
{
    KernelProbe.Run();
    return;
}
BenchmarkSwitcher.FromAssembly(typeof(KernelProbe).Assembly).Run(args);
