using HilBench.Memory.Backends;
using HilBench.Memory.Geometry;
using HilBench.Memory.Images;
using HilBench.Memory.Tests.Support;

namespace HilBench.Memory.Tests.Backends;

[TestFixture]
public class LoadBeforeStoreTests
{
    private static IEnumerable<TestCaseData> Backends()
    {
        yield return new TestCaseData((Func<IMemoryBackend>)(() => new IdealBackend()), new OperatingPoint(1.0)).SetArgDisplayNames("ideal");
        yield return new TestCaseData((Func<IMemoryBackend>)(() => new UniformBerBackend(0.01, 1)), new OperatingPoint(1.0)).SetArgDisplayNames("uniform");
        yield return new TestCaseData((Func<IMemoryBackend>)(() => new EmulatedSram(ProfileJson.Sram().Parse())), new OperatingPoint(0.6)).SetArgDisplayNames("sram");
        yield return new TestCaseData((Func<IMemoryBackend>)(() => new EmulatedDram(ProfileJson.Dram().Parse())), new OperatingPoint(1.2, 13.5)).SetArgDisplayNames("dram");
        yield return new TestCaseData((Func<IMemoryBackend>)(() => new ReplayBackend(new FaultMap(MemoryGeometry.Parse("4x32x64"),
            [new RecordedRead(new OperatingPoint(0.5), null, [])]))), new OperatingPoint(0.5)).SetArgDisplayNames("replay");
    }

    [TestCaseSource(nameof(Backends))]
    public void LoadBeforeStoreIsAClearError(Func<IMemoryBackend> make, OperatingPoint point)
    {
        using var backend = make();
        var e = Assert.Throws<MemoryBackendException>(() => backend.Load(new LoadRequest(point)));
        Assert.That(e!.Message, Does.Contain(": nothing is stored; call Store(image) before Load"));
        Assert.That(e.Retryable, Is.False);
        // After a Store the same load works.
        backend.Store(WeightImage.FromModel(TestImages.SmallMlp()));
        Assert.That(backend.Load(new LoadRequest(point)).Image.BitCount, Is.EqualTo(6464));
    }

    [Test]
    public void IdealMemoryReturnsWhatWasStored()
    {
        using var ideal = new IdealBackend();
        var image = WeightImage.FromModel(TestImages.SmallConv(), includeThresholds: true);
        ideal.Store(image);
        image[0] = !image[0]; // the backend keeps its own copy
        var readout = ideal.Load(new LoadRequest(new OperatingPoint(0.1), 5));
        Assert.That(readout.Faults, Is.Empty);
        Assert.That(readout.Image.Distance(image), Is.EqualTo(1));
        Assert.That(readout.BitErrorRate, Is.Zero);
        Assert.That(readout.EnergySaving, Is.Null);
    }
}
