using System.Runtime.Intrinsics;

namespace HilBench.Bnn.Training;

/// <summary>
/// Adam (Kingma and Ba) over a set of float parameter arrays, with bias correction. The moment
/// estimates are part of a checkpoint, so a resumed run continues with exactly the same steps.
/// </summary>
public sealed class AdamOptimizer
{
    public const double Beta1 = 0.9;
    public const double Beta2 = 0.999;
    public const double Epsilon = 1e-8;

    private readonly List<float[]> _m = [];
    private readonly List<float[]> _v = [];

    /// <summary>Number of update steps taken so far.</summary>
    public long Step { get; set; }

    /// <summary>Registers a parameter array; returns its slot for <see cref="Update"/>.</summary>
    public int Register(int length)
    {
        _m.Add(new float[length]);
        _v.Add(new float[length]);
        return _m.Count - 1;
    }

    public IReadOnlyList<float[]> FirstMoments => _m;

    public IReadOnlyList<float[]> SecondMoments => _v;

    /// <summary>Starts a step: every <see cref="Update"/> until the next call uses the same bias correction.</summary>
    public void BeginStep() => Step++;

    /// <summary>One Adam update of parameters in slot <paramref name="slot"/> with gradient <paramref name="gradient"/>.</summary>
    public void Update(int slot, float[] parameters, float[] gradient, double learningRate)
    {
        var m = _m[slot];
        var v = _v[slot];
        if (parameters.Length != m.Length || gradient.Length != m.Length)
            throw new ArgumentException($"slot {slot} holds {m.Length} parameters, got {parameters.Length} parameters and {gradient.Length} gradients");
        double correction1 = 1 - Math.Pow(Beta1, Step), correction2 = 1 - Math.Pow(Beta2, Step);
        float stepSize = (float)(learningRate * Math.Sqrt(correction2) / correction1);
        float epsHat = (float)(Epsilon * Math.Sqrt(correction2));
        // Element-wise, so chunks can run on any thread without changing a single bit of the result.
        const int chunk = 1 << 14;
        var p = parameters;
        var g = gradient;
        Parallel.For(0, (p.Length + chunk - 1) / chunk, c =>
        {
            int from = c * chunk, to = Math.Min(p.Length, from + chunk);
            var b1 = Vector512.Create((float)Beta1);
            var b2 = Vector512.Create((float)Beta2);
            var one = Vector512<float>.One;
            var step = Vector512.Create(stepSize);
            var eps = Vector512.Create(epsHat);
            int i = from;
            for (; i + 16 <= to; i += 16)
            {
                var gi = Vector512.Create(g.AsSpan(i, 16));
                var mi = b1 * Vector512.Create(m.AsSpan(i, 16)) + (one - b1) * gi;
                var vi = b2 * Vector512.Create(v.AsSpan(i, 16)) + (one - b2) * gi * gi;
                mi.CopyTo(m.AsSpan(i, 16));
                vi.CopyTo(v.AsSpan(i, 16));
                (Vector512.Create(p.AsSpan(i, 16)) - step * mi / (Vector512.Sqrt(vi) + eps)).CopyTo(p.AsSpan(i, 16));
            }
            for (; i < to; i++)
            {
                m[i] = (float)Beta1 * m[i] + (1 - (float)Beta1) * g[i];
                v[i] = (float)Beta2 * v[i] + (1 - (float)Beta2) * g[i] * g[i];
                p[i] -= stepSize * m[i] / (MathF.Sqrt(v[i]) + epsHat);
            }
        });
    }
}
