using System.Numerics;

namespace HilBench.Metrics.Predictions;

/// <summary>
/// P(N(0, 1) &gt; z) on vectors of floats, several times cheaper than a full-precision erfc per element. The conv blocks of a
/// VGG-sized model need it for about 10^5 samples per image; the approximations it feeds are far coarser than its error.
/// </summary>
internal static class NormalTail
{
    private const double InvSqrt2 = 0.70710678118654752440;

    /// <summary>
    /// P(N(0, 1) &gt; z) = erfc(z / sqrt 2) / 2 with erfc from the Chebyshev fit of Numerical Recipes (erfcc, relative error below
    /// 1.2e-7), evaluated in single precision: x^2 in the exponent adds a relative error of about 1e-7 x^2, a few 1e-6 in the far
    /// tail. Exactly 0 and 1 beyond |z| = 9 (the tests' double-precision reference does the same).
    /// </summary>
    public static Vector<float> Upper(Vector<float> z)
    {
        var x = Vector.Min(Vector.Abs(z), new Vector<float>(9)) * (float)InvSqrt2;
        var t = Vector<float>.One / (Vector<float>.One + x * 0.5f);
        var poly = new Vector<float>(0.17087277f);
        poly = poly * t + new Vector<float>(-0.82215223f);
        poly = poly * t + new Vector<float>(1.48851587f);
        poly = poly * t + new Vector<float>(-1.13520398f);
        poly = poly * t + new Vector<float>(0.27886807f);
        poly = poly * t + new Vector<float>(-0.18628806f);
        poly = poly * t + new Vector<float>(0.09678418f);
        poly = poly * t + new Vector<float>(0.37409196f);
        poly = poly * t + new Vector<float>(1.00002368f);
        poly = poly * t + new Vector<float>(-1.26551223f);
        var half = t * Exp(poly - x * x) * 0.5f;
        half = Vector.ConditionalSelect(Vector.GreaterThan(Vector.Abs(z), new Vector<float>(9)), Vector<float>.Zero, half);
        return Vector.ConditionalSelect(Vector.GreaterThanOrEqual(z, Vector<float>.Zero), half, Vector<float>.One - half);
    }

    /// <summary><see cref="Upper(Vector{float})"/> of every element, in place: z values in, probabilities out.</summary>
    public static void Upper(Span<float> values)
    {
        int n = Vector<float>.Count, i = 0;
        for (; i + n <= values.Length; i += n) Upper(new Vector<float>(values[i..])).CopyTo(values[i..]);
        if (i == values.Length) return;
        Span<float> rest = stackalloc float[n];
        values[i..].CopyTo(rest);
        Upper(new Vector<float>(rest)).CopyTo(rest);
        rest[..(values.Length - i)].CopyTo(values[i..]);
    }

    /// <summary>
    /// e^y for y in [-80, 80] to a relative error of a few float ulps: y = n ln 2 + f with |f| &lt;= ln 2 / 2, e^f by its Taylor
    /// series to degree 7, and 2^n put into the exponent bits. The runtime's vector Exp runs element by element here.
    /// </summary>
    internal static Vector<float> Exp(Vector<float> y)
    {
        var n = Vector.Round(y * 1.44269504f);
        var f = y - n * 0.693359375f + n * 2.12194440e-4f; // ln 2 in two parts, so that n ln 2 is exact
        var p = new Vector<float>(1f / 5040);
        p = p * f + new Vector<float>(1f / 720);
        p = p * f + new Vector<float>(1f / 120);
        p = p * f + new Vector<float>(1f / 24);
        p = p * f + new Vector<float>(1f / 6);
        p = p * f + new Vector<float>(0.5f);
        p = p * f + Vector<float>.One;
        p = p * f + Vector<float>.One;
        var scale = Vector.AsVectorSingle(Vector.ShiftLeft(Vector.ConvertToInt32(n) + new Vector<int>(127), 23));
        return p * scale;
    }
}
