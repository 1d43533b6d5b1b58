using HilBench.Bnn.Errors;
using HilBench.Bnn.Inference;
using HilBench.Memory;
using HilBench.Memory.Backends;
using HilBench.Memory.Geometry;
using HilBench.Memory.Images;
using HilBench.Memory.Profiles;
using HilBench.Metrics.Tests.Support;
using HilBench.Metrics.Tolerance;

namespace HilBench.Metrics.Tests.Tolerance;

public class MonteCarloTests
{
    private static readonly double[] Bers = [0, 0.02, 0.1, 0.3];

    [Test]
    public void Uniform_curve_is_the_same_on_one_and_two_threads()
    {
        var model = PredictionFixtures.SmallMlp(seed: 2);
        var data = PredictionFixtures.RandomImages(model.InputShape, 300, seed: 5);
        var one = MonteCarlo.UniformCurve(model, data, Bers, trials: 7, seed: 11, threads: 1);
        var two = MonteCarlo.UniformCurve(model, data, Bers, trials: 7, seed: 11, threads: 2);
        Assert.That(two.CleanAccuracy, Is.EqualTo(one.CleanAccuracy));
        for (int i = 0; i < Bers.Length; i++)
        {
            Assert.That(two.Points[i].Accuracies, Is.EqualTo(one.Points[i].Accuracies), $"BER {Bers[i]}");
            Assert.That(two.Points[i].FaultsMean, Is.EqualTo(one.Points[i].FaultsMean));
        }
        Assert.That(one.Points.Skip(1).Select(p => p.Accuracies.Distinct().Count()), Has.Some.GreaterThan(1), "patterns must differ from each other");
    }

    [Test]
    public void Uniform_curve_equals_error_injection_and_the_engine_run_directly()
    {
        var model = PredictionFixtures.SmallMlp(seed: 3);
        var data = PredictionFixtures.RandomImages(model.InputShape, 200, seed: 6);
        const int trials = 5, seed = 21;
        var curve = MonteCarlo.UniformCurve(model, data, [0.05, 0.2], trials, seed, threads: 2);
        Assert.That(curve.CleanAccuracy, Is.EqualTo(new InferenceEngine(model).Run(data.Pixels, data.Count).Accuracy(data.Labels)));
        foreach (var point in curve.Points)
        {
            var errors = new UniformBitErrors(point.Ber);
            var expected = new double[trials];
            long flipped = 0;
            for (int k = 0; k < trials; k++)
            {
                var (corrupted, f) = ErrorInjection.Corrupt(model, errors, ErrorInjection.TrialRandom(seed, k));
                flipped += f;
                expected[k] = new InferenceEngine(corrupted).Run(data.Pixels, data.Count, threads: 1).Accuracy(data.Labels);
            }
            Assert.That(point.Accuracies, Is.EqualTo(expected), $"BER {point.Ber}");
            Assert.That(point.FaultsMean, Is.EqualTo((double)flipped / trials));
            Assert.That(point.Mean, Is.EqualTo(expected.Average()).Within(1e-15));
            Assert.That(point.Label, Is.EqualTo(point.Ber.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            Assert.That(point.EnergySaving, Is.Null);
            Assert.That(point.Low, Is.LessThanOrEqualTo(point.Mean));
            Assert.That(point.High, Is.GreaterThanOrEqualTo(point.Mean));
        }
    }

    [Test]
    public void Ber_zero_is_the_clean_accuracy_for_every_pattern()
    {
        var model = PredictionFixtures.SmallMlp(seed: 4);
        var data = PredictionFixtures.RandomImages(model.InputShape, 100, seed: 7);
        var curve = MonteCarlo.UniformCurve(model, data, [0.0], trials: 4, seed: 1, threads: 2);
        var p = curve.Points.Single();
        Assert.That(p.Accuracies, Is.EqualTo(Enumerable.Repeat(curve.CleanAccuracy, 4)));
        Assert.That((p.Mean, p.Low, p.High, p.FaultsMean, p.Ber), Is.EqualTo((curve.CleanAccuracy, curve.CleanAccuracy, curve.CleanAccuracy, 0.0, 0.0)));
        Assert.That(p.Label, Is.EqualTo("0"));
    }

    [Test]
    public void Measure_stores_once_per_backend_and_loads_every_trial_once()
    {
        var model = PredictionFixtures.SmallMlp(seed: 5);
        var data = PredictionFixtures.RandomImages(model.InputShape, 50, seed: 8);
        var backends = new Dictionary<int, RecordingBackend>();
        RecordingBackend For(int k)
        {
            lock (backends)
            {
                if (!backends.TryGetValue(k % 2, out var b)) backends[k % 2] = b = new RecordingBackend();
                return b;
            }
        }
        var point = new OperatingPoint(0.7);
        var result = MonteCarlo.Measure(model, data, For, new LoadRequest(point), trials: 6, threads: 2);
        Assert.That(backends.Values.Select(b => b.Stores), Is.All.EqualTo(1));
        Assert.That(backends.Values.SelectMany(b => b.Trials).Order(), Is.EqualTo(Enumerable.Range(0, 6)));
        Assert.That(backends[0].Trials.Order(), Is.EqualTo(new[] { 0, 2, 4 }));
        Assert.That(backends.Values.SelectMany(b => b.Points).Distinct(), Is.EqualTo(new[] { point }));
        // The recording backend is perfect memory: every pattern is the clean model.
        double clean = new InferenceEngine(model).Run(data.Pixels, data.Count).Accuracy(data.Labels);
        Assert.That(result.Accuracies, Is.All.EqualTo(clean));
        Assert.That(result.Label, Is.EqualTo(point.ToString()));
        Assert.That((result.Ber, result.FaultsMean), Is.EqualTo((0.0, 0.0)));
    }

    [Test]
    public void Measure_through_an_emulated_chip_reports_measured_ber_and_energy()
    {
        var model = PredictionFixtures.SmallMlp(seed: 6);
        var data = PredictionFixtures.RandomImages(model.InputShape, 100, seed: 9);
        var profile = DeviceProfile.Load(PredictionFixtures.RepoFile("calibration", "profiles", "bram-like.json"));
        var layout = WeightImage.LayoutOf(model, thresholds: false);
        using var chip = EmulatedMemory.For(profile, chipSeed: 3, _ => Placement.Create(layout, profile.Geometry), threads: 1);
        var op = profile.ParsePoint("V=0.54");
        var result = MonteCarlo.Measure(model, data, _ => chip, new LoadRequest(op), trials: 3, threads: 2);

        var readout = chip.Load(new LoadRequest(op, 0));
        Assert.That(result.EnergySaving, Is.EqualTo(readout.EnergySaving).Within(1e-12));
        Assert.That(result.Ber, Is.EqualTo(result.FaultsMean / layout.BitCount));
        Assert.That(result.Label, Is.EqualTo(op.ToString()));
        var expected = new InferenceEngine(readout.Image.ToModel(model)).Run(data.Pixels, data.Count).Accuracy(data.Labels);
        Assert.That(result.Accuracies[0], Is.EqualTo(expected));
    }

    [Test]
    public void A_failing_backend_surfaces_its_own_exception()
    {
        var model = PredictionFixtures.SmallMlp(seed: 7);
        var data = PredictionFixtures.RandomImages(model.InputShape, 20, seed: 10);
        var failing = new RecordingBackend { FailOnTrial = 2 };
        var ex = Assert.Throws<MemoryBackendException>(() =>
            MonteCarlo.Measure(model, data, _ => failing, new LoadRequest(new OperatingPoint(1)), trials: 4, threads: 2));
        Assert.That(ex!.Message, Does.Contain("trial 2"));
    }

    [Test]
    public void Cancellation_stops_the_measurement()
    {
        var model = PredictionFixtures.SmallMlp(seed: 8);
        var data = PredictionFixtures.RandomImages(model.InputShape, 20, seed: 11);
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        Assert.That(() => MonteCarlo.UniformCurve(model, data, [0.1], 3, 1, 2, cancel: cancel.Token), Throws.InstanceOf<OperationCanceledException>());
    }

    [Test]
    public void Arguments_are_checked()
    {
        var model = PredictionFixtures.SmallMlp(seed: 9);
        var data = PredictionFixtures.RandomImages(model.InputShape, 10, seed: 12);
        Assert.Throws<ArgumentOutOfRangeException>(() => MonteCarlo.UniformCurve(model, data, [0.1], trials: 0, seed: 1, threads: 1));
        var wrongShape = PredictionFixtures.RandomImages(new Bnn.Tensors.TensorShape(4, 4, 1), 10, seed: 12);
        Assert.Throws<ArgumentException>(() => MonteCarlo.Measure(model, wrongShape, _ => new IdealBackend(), new LoadRequest(new OperatingPoint(1)), 2, 1));
    }

    /// <summary>A perfect memory that records what it was asked to do (and can fail on one trial).</summary>
    private sealed class RecordingBackend : IMemoryBackend
    {
        private readonly IdealBackend _inner = new();

        public int Stores { get; private set; }
        public List<int> Trials { get; } = [];
        public List<OperatingPoint> Points { get; } = [];
        public int FailOnTrial { get; init; } = -1;

        public string Name => "recording";
        public BackendTraits Traits => _inner.Traits;
        public MemoryGeometry? Geometry => null;

        public void Store(WeightImage image, CancellationToken cancel = default)
        {
            Stores++;
            _inner.Store(image, cancel);
        }

        public MemoryReadout Load(LoadRequest request, CancellationToken cancel = default)
        {
            if (request.Trial == FailOnTrial) throw new MemoryBackendException($"lost the board on trial {request.Trial}");
            Trials.Add(request.Trial);
            Points.Add(request.Point);
            return _inner.Load(request, cancel);
        }

        public void Dispose() => _inner.Dispose();
    }
}
