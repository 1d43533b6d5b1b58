using System.Globalization;
using HilBench.Memory.Profiles;

namespace HilBench.Calibration.Fit;

/// <summary>Which parameters are free in the critical-value fit, and the scales the optimiser works in.</summary>
internal sealed class ParameterSpace
{
    public required bool FitStuckShare { get; init; }
    public required bool FitTemperature { get; init; }
    public required bool FitVoltageSensitivity { get; init; }
    public required Heterogeneity Kind { get; init; }
    public required Technology Technology { get; init; }

    /// <summary>Fixed values for what is not fitted.</summary>
    public required ModelParameters Fixed { get; init; }

    /// <summary>Scale of the latent value (sigma of the starting fit) and of the spans the coefficients act over.</summary>
    public required double Scale { get; init; }
    public required double MeanScale { get; init; }
    public required double TemperatureSpan { get; init; }
    public required double VoltageSpan { get; init; }

    public IReadOnlyList<(string Name, string Unit)> Names
    {
        get
        {
            string unit = Technology == Technology.Sram ? "V" : "ns";
            var list = new List<(string, string)> { ("cells.mean", unit), ("cells.sigma", unit) };
            if (FitStuckShare) list.Add(("polarity.stuckAtZeroShare", ""));
            if (FitTemperature) list.Add(("cells.temperatureCoefficient", Technology == Technology.Sram ? "V/C" : "1/C"));
            if (FitVoltageSensitivity) list.Add(("cells.voltageSensitivity", "1/V"));
            if (Kind == Heterogeneity.Normal) list.Add(("blockOffsets.sigma", unit));
            if (Kind == Heterogeneity.TwoClass)
            {
                list.Add(("blockOffsets.weakShare", ""));
                list.Add(("blockOffsets.weakOffset", unit));
            }
            return list;
        }
    }

    public int Count => Names.Count;

    public double[] ToNatural(ModelParameters p)
    {
        var v = new List<double> { p.Mean, p.Sigma };
        if (FitStuckShare) v.Add(p.StuckAtZeroShare);
        if (FitTemperature) v.Add(p.TemperatureCoefficient);
        if (FitVoltageSensitivity) v.Add(p.VoltageSensitivity);
        if (Kind == Heterogeneity.Normal) v.Add(p.BlockSigma);
        if (Kind == Heterogeneity.TwoClass)
        {
            v.Add(p.WeakShare);
            v.Add(p.WeakOffset);
        }
        return v.ToArray();
    }

    public ModelParameters FromNatural(double[] v)
    {
        int i = 2;
        double s0 = FitStuckShare ? v[i++] : Fixed.StuckAtZeroShare;
        double tc = FitTemperature ? v[i++] : Fixed.TemperatureCoefficient;
        double a = FitVoltageSensitivity ? v[i++] : Fixed.VoltageSensitivity;
        double bs = 0, ws = 0, wo = 0;
        if (Kind == Heterogeneity.Normal) bs = v[i++];
        if (Kind == Heterogeneity.TwoClass)
        {
            ws = v[i++];
            wo = v[i++];
        }
        return new ModelParameters(v[0], v[1], s0, tc, a, Kind, bs, ws, wo);
    }

    /// <summary>The optimiser's coordinates: shifts in units of the starting sigma, logs of scales, logits of shares.</summary>
    public double[] ToInternal(ModelParameters p)
    {
        var n = ToNatural(p);
        var u = new double[n.Length];
        var names = Names;
        for (int i = 0; i < n.Length; i++) u[i] = Forward(names[i].Name, n[i]);
        return u;
    }

    public ModelParameters FromInternal(double[] u)
    {
        var names = Names;
        var n = new double[u.Length];
        for (int i = 0; i < u.Length; i++) n[i] = Backward(names[i].Name, u[i]);
        return FromNatural(n);
    }

    /// <summary>Initial Hessian steps in natural units: a thousandth of each parameter's scale.</summary>
    public double[] NaturalSteps() => Names.Select(n => n.Name switch
    {
        "polarity.stuckAtZeroShare" or "blockOffsets.weakShare" => 1e-3,
        "cells.temperatureCoefficient" => 1e-3 * Scale / TemperatureSpan,
        "cells.voltageSensitivity" => 1e-3 * Scale / (MeanScale * VoltageSpan),
        _ => 1e-3 * Scale,
    }).ToArray();

    private double Forward(string name, double v) => name switch
    {
        "cells.mean" => (v - MeanScale) / Scale,
        "cells.sigma" or "blockOffsets.sigma" or "blockOffsets.weakOffset" => Math.Log(Math.Max(v, 1e-9 * Scale) / Scale),
        "polarity.stuckAtZeroShare" or "blockOffsets.weakShare" => Math.Log(Math.Clamp(v, 1e-9, 1 - 1e-9) / (1 - Math.Clamp(v, 1e-9, 1 - 1e-9))),
        "cells.temperatureCoefficient" => v * TemperatureSpan / Scale,
        "cells.voltageSensitivity" => v * MeanScale * VoltageSpan / Scale,
        _ => throw new ArgumentException(name),
    };

    private double Backward(string name, double u) => name switch
    {
        "cells.mean" => MeanScale + Scale * u,
        "cells.sigma" or "blockOffsets.sigma" or "blockOffsets.weakOffset" => Scale * Math.Exp(Math.Clamp(u, -50, 50)),
        "polarity.stuckAtZeroShare" or "blockOffsets.weakShare" => 1 / (1 + Math.Exp(-u)),
        "cells.temperatureCoefficient" => u * Scale / TemperatureSpan,
        "cells.voltageSensitivity" => u * Scale / (MeanScale * VoltageSpan),
        _ => throw new ArgumentException(name),
    };
}

/// <summary>
/// One fitted heterogeneity model: its parameters, their standard errors and its likelihood, and what speaks against
/// trusting it (<see cref="Problems"/>: the optimiser did not converge, or a standard error could not be computed);
/// <see cref="SeveralMaxima"/> says when its starts ended at different maxima.
/// </summary>
internal sealed record CurveFitResult(Heterogeneity Kind, ParameterSpace Space, ModelParameters Parameters, double LogLikelihood, double[] StandardErrors,
    bool Converged, IReadOnlyList<string> Problems, string? SeveralMaxima)
{
    public int ParameterCount => Space.Count;

    public double Aic => 2 * ParameterCount - 2 * LogLikelihood;

    public string Describe()
    {
        var p = Parameters;
        string unit = Space.Technology == Technology.Sram ? "V" : "ns";
        return Kind switch
        {
            Heterogeneity.Normal => $"sigma_b = {p.BlockSigma.ToString("G4", CultureInfo.InvariantCulture)} {unit}",
            Heterogeneity.TwoClass => $"weak share = {p.WeakShare.ToString("G4", CultureInfo.InvariantCulture)}, weak offset = {p.WeakOffset.ToString("G4", CultureInfo.InvariantCulture)} {unit}",
            _ => "no block offsets",
        } + $"; mean = {p.Mean.ToString("G5", CultureInfo.InvariantCulture)} {unit}, sigma = {p.Sigma.ToString("G4", CultureInfo.InvariantCulture)} {unit}";
    }
}

/// <summary>
/// Joint maximum-likelihood fit of the critical-value distribution with each block-offset model: the marginal
/// failure probability depends on the offsets, so mean and sigma are refitted with every candidate.
/// </summary>
internal static class CurveFit
{
    /// <summary>Two starts whose maxima differ by more than this many log-likelihood units found different maxima.</summary>
    private const double StartsAgree = 1.0;

    public static CurveFitResult Fit(CriticalValueLikelihood likelihood, ParameterSpace space, IReadOnlyList<ModelParameters> starts)
    {
        double Negative(double[] u) => -likelihood.LogLikelihood(space.FromInternal(u));
        var minima = starts.Select(start =>
        {
            var u0 = space.ToInternal(start);
            return Optimizer.Minimize(Negative, u0, u0.Select(_ => 0.3).ToArray());
        }).ToList();
        var best = minima.MinBy(m => m.Value)!;
        var p = space.FromInternal(best.X);
        var natural = space.ToNatural(p);
        var hessian = Optimizer.Hessian(v => -likelihood.LogLikelihood(space.FromNatural(v)), natural, space.NaturalSteps());
        var se = Optimizer.StandardErrors(hessian);

        static string F(double v) => v.ToString("G4", CultureInfo.InvariantCulture);
        var problems = new List<string>();
        if (!best.Converged) problems.Add($"the maximum-likelihood search did not converge: {best.Problem}");
        var names = space.Names;
        var undetermined = Enumerable.Range(0, names.Count).Where(i => double.IsNaN(se[i])).Select(i => names[i].Name).ToList();
        if (undetermined.Count > 0)
            problems.Add($"no standard error for {string.Join(", ", undetermined)}: the likelihood is not curved like a maximum there " +
                         "(a parameter sits at a bound, such as a share at 0 or 1 or a spread at 0, or the search stopped short of the maximum)");
        double spread = minima.Max(m => m.Value) - best.Value;
        string? severalMaxima = spread > StartsAgree
            ? $"its {minima.Count} starting points ended at log-likelihoods up to {F(spread)} apart (the likelihood has several maxima); the highest was kept"
            : null;
        return new CurveFitResult(space.Kind, space, p, -best.Value, se, best.Converged, problems, severalMaxima);
    }
}
