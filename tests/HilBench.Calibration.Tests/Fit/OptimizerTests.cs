using HilBench.Calibration.Fit;

namespace HilBench.Calibration.Tests.Fit;

/// <summary>The minimiser says whether it converged, and why not.</summary>
public class OptimizerTests
{
    private static double Bowl(double[] x) => (x[0] - 1) * (x[0] - 1) + 10 * (x[1] + 2) * (x[1] + 2);

    [Test]
    public void ConvergesOnASmoothMinimum()
    {
        var m = Optimizer.Minimize(Bowl, [0, 0], [0.5, 0.5]);
        Assert.That(m.Converged, Is.True, m.Problem);
        Assert.That(m.X[0], Is.EqualTo(1).Within(1e-3));
        Assert.That(m.X[1], Is.EqualTo(-2).Within(1e-3));
    }

    [Test]
    public void SaysWhenTheIterationLimitStoppedIt()
    {
        var m = Optimizer.Minimize(Bowl, [30, 30], [0.01, 0.01], maxIterations: 5);
        Assert.That(m.Converged, Is.False);
        Assert.That(m.Problem, Does.Contain("limit of 5 iterations"));
    }

    [Test]
    public void SaysWhenTheObjectiveCannotBeEvaluated()
    {
        var m = Optimizer.Minimize(_ => double.NaN, [0, 0], [0.5, 0.5]);
        Assert.That(m.Converged, Is.False);
        Assert.That(m.Problem, Does.Contain("could not be evaluated"));
    }
}
