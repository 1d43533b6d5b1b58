using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using HilBench.Bnn.Training;

namespace HilBench.Benchmarks;

/// <summary>
/// Float GEMM on the shapes of training the MLP 784-2048-2048-10 at batch 256: forward-like (None),
/// input gradient (B transposed, and None as DenseBlock stores its weights), weight gradient
/// (A transposed) and the 10-class layer, on one and two threads. The GFLOP/s column is
/// 2 m n k over the median time.
/// </summary>
[Config(typeof(GemmBenchmarkConfig))]
public class GemmBenchmarks
{
    private float[] _a = [], _b = [], _c = [];

    public static IEnumerable<GemmShape> Shapes =>
    [
        new(Transpose.None, 256, 2048, 784),
        new(Transpose.None, 256, 2048, 2048),
        new(Transpose.B, 256, 784, 2048),
        new(Transpose.B, 256, 2048, 2048),
        new(Transpose.A, 2048, 784, 256),
        new(Transpose.A, 2048, 2048, 256),
        new(Transpose.None, 256, 10, 2048),
        // The layouts DenseBlock uses for the input gradient (weights stored out x in) and for the 10-class layer.
        new(Transpose.None, 256, 784, 2048),
        new(Transpose.A, 10, 2048, 256),
        new(Transpose.None, 256, 2048, 10),
    ];

    [ParamsSource(nameof(Shapes))]
    public GemmShape Shape { get; set; }

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var r = new Random(1);
        _a = Random(r, Shape.M * Shape.K);
        _b = Random(r, Shape.K * Shape.N);
        _c = new float[Shape.M * Shape.N];
    }

    [Benchmark]
    public void Multiply() => Gemm.Multiply(Shape.Transpose, Shape.M, Shape.N, Shape.K, _a, _b, _c, 0f, Threads);

    private static float[] Random(Random r, int count)
    {
        var x = new float[count];
        for (int i = 0; i < count; i++) x[i] = (float)(r.NextDouble() * 2 - 1);
        return x;
    }
}

/// <summary>One product: C (m x n) = op(A) op(B) with inner dimension k.</summary>
public readonly record struct GemmShape(Transpose Transpose, int M, int N, int K)
{
    public double Flops => 2.0 * M * N * K;

    public override string ToString() => $"{Transpose}-{M}x{N}x{K}";
}

internal sealed class GemmBenchmarkConfig : ManualConfig
{
    public GemmBenchmarkConfig() => AddColumn(new GflopsColumn());
}

/// <summary>2 m n k / median time, in GFLOP/s.</summary>
internal sealed class GflopsColumn : IColumn
{
    public string Id => nameof(GflopsColumn);
    public string ColumnName => "GFLOP/s";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "2 m n k / median time, in 10^9 floating-point operations per second";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var stats = summary[benchmarkCase]?.ResultStatistics;
        if (stats is null || benchmarkCase.Parameters["Shape"] is not GemmShape shape) return "-";
        return (shape.Flops / stats.Median).ToString("F1", System.Globalization.CultureInfo.InvariantCulture);
    }

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public bool IsAvailable(Summary summary) => true;
}
