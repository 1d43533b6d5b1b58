using HilBench.Cli.Experiment;

namespace HilBench.Cli.Tests;

/// <summary>Which measured BERs the study predicts the accuracy at.</summary>
[TestFixture]
public sealed class ExperimentSettingsTests
{
    private static ExperimentSettings With(double[] bers, double predictionBer = 0.05) =>
        new(bers, Trials: 5, Seed: 1, Images: 100, ImportanceImages: 100, predictionBer, Profile: null, BaseOp: null, Voltages: [], Chips: 1);

    [Test]
    public void DefaultGridPredictsDenseModelsAtOneFiveTenAndTwentyPercent()
    {
        var s = With([0, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2]);
        Assert.That(s.PredictedBers, Is.EquivalentTo(new[] { 0.01, 0.05, 0.1, 0.2 }));
        Assert.That(s.ConvPredictedBer, Is.EqualTo(0.05));
    }

    [Test]
    public void GridWithoutThePredictionBerUsesTheNearestOnALogScale()
    {
        // The full-size study's grid has no 5 %: 6 % is nearer than 4 % on a log scale (ln 1.2 < ln 1.25).
        var s = With([0, 0.02, 0.04, 0.06, 0.08, 0.1, 0.12, 0.14, 0.16, 0.18, 0.2]);
        Assert.That(s.ConvPredictedBer, Is.EqualTo(0.06));
        Assert.That(s.PredictedBers, Is.EquivalentTo(new[] { 0.02, 0.06, 0.1, 0.2 }));
    }

    [Test]
    public void NoNonzeroBerOrNoPredictionBerPredictsNothing()
    {
        Assert.That(With([0]).ConvPredictedBer, Is.Zero);
        Assert.That(With([0]).PredictedBers, Is.Empty);
        Assert.That(With([0, 0.05], predictionBer: 0).ConvPredictedBer, Is.Zero);
    }
}
