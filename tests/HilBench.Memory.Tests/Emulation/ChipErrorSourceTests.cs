using System.Text.Json.Nodes;
using HilBench.Bnn.Errors;
using HilBench.Memory.Backends;
using HilBench.Memory.Emulation;
using HilBench.Memory.Images;
using HilBench.Memory.Tests.Support;

namespace HilBench.Memory.Tests.Emulation;

[TestFixture]
public class ChipErrorSourceTests
{
    /// <summary>Without a transient part the chip's errors are fixed: training against it injects exactly what the memory reads.</summary>
    [Test]
    public void InjectsWhatTheEmulatedMemoryReads()
    {
        var model = Repo.Mlp;
        using var sram = new EmulatedSram(Repo.BramLike());
        var image = WeightImage.FromModel(model, includeThresholds: true);
        sram.Store(image);
        var op = new OperatingPoint(0.54);
        var readout = sram.Load(new LoadRequest(op));

        var source = new ChipErrorSource(sram.Chip, sram.Placement!, op);
        var (corrupted, changed) = ErrorInjection.Corrupt(model, source, new Random(1));
        var read = readout.Image.ToModel(model);
        for (int b = 0; b < model.Blocks.Count; b++)
            Assert.That(corrupted.Blocks[b].Linear.Weights, Is.EqualTo(read.Blocks[b].Linear.Weights), $"block {b}");
        long weightFaults = readout.Faults.Count(f => image.Layout.Locate(f.ImageBit).Region.Kind == RegionKind.Weights);
        Assert.That(changed, Is.EqualTo(weightFaults).And.GreaterThan(100));
        Assert.That(source.FailingWeightCells, Is.GreaterThanOrEqualTo(changed), "a failing cell that reads what is stored changes nothing");
        Assert.That(ErrorInjection.Corrupt(model, source, new Random(2)).Flipped, Is.EqualTo(changed), "persistent: any random stream gives the same errors");
    }

    /// <summary>Marginal cells fail on a share of the forward passes, drawn from the training's random stream.</summary>
    [Test]
    public void MarginalCellsFailOnAShareOfPasses()
    {
        var profile = ProfileJson.Sram().Set("transient", new JsonObject { ["share"] = 1.0, ["readFailureProbability"] = 0.5 }).Parse();
        var model = TestImages.SmallMlp();
        using var sram = new EmulatedSram(profile);
        sram.Store(WeightImage.FromModel(model));
        var op = new OperatingPoint(0.52);
        var source = new ChipErrorSource(sram.Chip, sram.Placement!, op);
        long cells = source.FailingWeightCells;
        Assert.That(cells, Is.GreaterThan(20));
        const int passes = 200;
        long changed = 0;
        var random = new Random(3);
        for (int i = 0; i < passes; i++) changed += ErrorInjection.Corrupt(model, source, random).Flipped;
        // Flip polarity: every failing cell read is an error; each pass reads each cell with probability 1/2.
        Binomial.AssertWithinFourSigma(changed, (double)passes * cells, 0.5, $"errors over {passes} passes of {cells} marginal cells");
    }
}
