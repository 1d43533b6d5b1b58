using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.Optimization;

namespace HilBench.Calibration.Fit;

/// <summary>Minimisation (Math.NET's Nelder-Mead simplex, restarted until it stops improving) and a numerical Hessian.</summary>
internal static class Optimizer
{
    /// <summary>
    /// Where the minimisation ended. <see cref="Problem"/> is null when it converged: the last restart stopped
    /// improving before the round limit and the simplex met its tolerance; otherwise it says what went wrong.
    /// </summary>
    public sealed record Minimum(double[] X, double Value, string? Problem)
    {
        public bool Converged => Problem is null;
    }

    private const int Rounds = 6;

    public static Minimum Minimize(Func<double[], double> f, double[] start, double[] step, double tolerance = 1e-10, int maxIterations = 3000)
    {
        double[] best = (double[])start.Clone();
        double bestValue = Safe(f, start);
        double Objective(Vector<double> v)
        {
            double[] x = v.ToArray();
            double y = Safe(f, x);
            if (y < bestValue)
            {
                bestValue = y;
                best = x;
            }
            return y;
        }
        var objective = ObjectiveFunction.Value(Objective);
        double[] scale = (double[])step.Clone();
        bool settled = false, hitLimit = false;
        // A simplex can collapse before the minimum; restarting from the best point with a fresh simplex costs
        // little and removes that failure mode.
        for (int round = 0; round < Rounds && !settled; round++)
        {
            double before = bestValue;
            try
            {
                new NelderMeadSimplex(tolerance, maxIterations).FindMinimum(objective, Vector<double>.Build.DenseOfArray(best), Vector<double>.Build.DenseOfArray(scale));
                hitLimit = false;
            }
            catch (MaximumIterationsException)
            {
                hitLimit = true;
            }
            settled = round > 0 && before - bestValue < 1e-6;
            scale = scale.Select(s => s * 0.5).ToArray();
        }
        string? problem = bestValue >= Unevaluable ? "the objective could not be evaluated anywhere the simplex went (every point gave NaN or infinity)"
            : hitLimit ? $"the simplex hit its limit of {maxIterations} iterations without meeting its tolerance"
            : !settled ? $"it was still improving after {Rounds} restarts"
            : null;
        return new Minimum(best, bestValue, problem);
    }

    /// <summary>The value given to points where the objective is NaN or infinite, so the simplex moves away from them.</summary>
    private const double Unevaluable = 1e300;

    private static double Safe(Func<double[], double> f, double[] x)
    {
        double y = f(x);
        return double.IsFinite(y) ? y : Unevaluable;
    }

    /// <summary>
    /// Central-difference Hessian. Each step is grown or shrunk until it changes f by about one unit of
    /// log-likelihood, so parameters of very different scales (volts, shares) are differenced alike.
    /// </summary>
    public static double[,] Hessian(Func<double[], double> f, double[] x, double[] initialStep)
    {
        int n = x.Length;
        double f0 = f(x);
        var steps = new double[n];
        double At(int i, double di, int j = -1, double dj = 0)
        {
            var y = (double[])x.Clone();
            y[i] += di;
            if (j >= 0) y[j] += dj;
            return f(y);
        }
        var h = new double[n, n];
        for (int i = 0; i < n; i++)
        {
            double step = initialStep[i], d2 = 0;
            for (int tries = 0; tries < 30; tries++)
            {
                d2 = At(i, step) + At(i, -step) - 2 * f0;
                if (!double.IsFinite(d2)) step /= 4;
                else if (Math.Abs(d2) < 0.05) step *= 3;
                else if (Math.Abs(d2) > 3) step /= 3;
                else break;
            }
            steps[i] = step;
            h[i, i] = d2 / (step * step);
        }
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
            {
                double a = steps[i], b = steps[j];
                double v = (At(i, a, j, b) - At(i, a, j, -b) - At(i, -a, j, b) + At(i, -a, j, -b)) / (4 * a * b);
                h[i, j] = h[j, i] = v;
            }
        return h;
    }

    /// <summary>Standard errors from the inverse of the observed information; NaN where it is not positive definite.</summary>
    public static double[] StandardErrors(double[,] hessian)
    {
        int n = hessian.GetLength(0);
        var m = Matrix<double>.Build.DenseOfArray(hessian);
        var se = new double[n];
        try
        {
            var inverse = m.Inverse();
            for (int i = 0; i < n; i++) se[i] = inverse[i, i] > 0 && double.IsFinite(inverse[i, i]) ? Math.Sqrt(inverse[i, i]) : double.NaN;
        }
        catch (Exception)
        {
            Array.Fill(se, double.NaN);
        }
        return se;
    }
}
