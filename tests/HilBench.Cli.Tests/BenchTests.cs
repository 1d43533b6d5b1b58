using System.Text.Json;

namespace HilBench.Cli.Tests;

/// <summary>hilbench bench on a handful of images: the report's shape, not its speed.</summary>
[TestFixture]
public sealed class BenchTests
{
    [Test]
    public void Json_OnAFewImagesHasEveryKeyAndPositiveNumbers()
    {
        var json = Cli.Ok("bench", "--json", "--images", "16", "--repeats", "1").Json();

        foreach (var model in new[] { "mlp", "vgg3" })
        {
            var m = json.GetProperty(model);
            foreach (var key in new[]
                     {
                         "images_per_s_1t", "images_per_s_all", "roofline_ratio", "weight_bits", "images_per_s_1t_min", "images_per_s_1t_max",
                     })
            {
                Assert.That(m.TryGetProperty(key, out var value), Is.True, $"{model}.{key}");
                Assert.That(value.ValueKind, Is.EqualTo(JsonValueKind.Number), $"{model}.{key}");
                Assert.That(value.GetDouble(), Is.GreaterThan(0), $"{model}.{key}");
            }
            Assert.That(m.GetProperty("images_per_s_1t_min").GetDouble(), Is.LessThanOrEqualTo(m.GetProperty("images_per_s_1t_max").GetDouble()));
            Assert.That(m.GetProperty("repeats").GetInt32(), Is.EqualTo(1));
        }
        Assert.That(json.GetProperty("mlp").GetProperty("weight_bits").GetInt64(), Is.EqualTo(784L * 2048 + 2048L * 2048 + 2048L * 10));
        Assert.That(json.GetProperty("mlp").GetProperty("architecture").GetString(), Is.EqualTo("784-2048-2048-10"));
        Assert.That(json.GetProperty("vgg3").GetProperty("architecture").GetString(), Is.EqualTo("28x28x1-c64-p-c64-p-2048-10"));
        Assert.That(json.GetProperty("popcount_bits_per_s_1t").GetDouble(), Is.GreaterThan(0));
        Assert.That(json.GetProperty("kernel").GetString(), Is.Not.Empty);
        Assert.That(json.GetProperty("threads").GetInt32(), Is.EqualTo(Environment.ProcessorCount));
        Assert.That(json.GetProperty("processor_count").GetInt32(), Is.EqualTo(Environment.ProcessorCount));
        Assert.That(json.GetProperty("repeats").GetInt32(), Is.EqualTo(1));
        Assert.That(json.GetProperty("images").GetInt32(), Is.EqualTo(16));
    }

    [Test]
    public void Text_ShowsBothModelsWithUnits()
    {
        var run = Cli.Ok("bench", "--images", "8", "--repeats", "1", "--threads", "1");
        Assert.That(run.Stdout, Does.Contain("MLP").And.Contain("VGG3").And.Contain("images/s").And.Contain("bit/s").And.Contain("roofline ratio"));
        Assert.That(run.Stdout, Does.Not.Contain("\u001b"));
    }

    [Test]
    public void MoreImagesThanTheTestSplitHasIsAnError()
    {
        var run = Cli.Run("bench", "--images", "10001", "--repeats", "1");
        Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString);
        Assert.That(run.Stderr, Does.StartWith("error: ").And.Contain("10001"));
    }

    [Test]
    public void RepeatHalvingForVgg3()
    {
        Assert.That(Commands.BenchCommand.Vgg3Repeats(1), Is.EqualTo(1));
        Assert.That(Commands.BenchCommand.Vgg3Repeats(2), Is.EqualTo(1));
        Assert.That(Commands.BenchCommand.Vgg3Repeats(5), Is.EqualTo(3));
    }
}
