namespace HilBench.Memory.Tests.Support;

/// <summary>
/// Tolerances for counts that are binomial(n, p): the mean is n p and sigma = sqrt(n p (1 - p)). A bound of
/// 4 sigma is left about once in 16,000 runs by chance; every test here uses fixed seeds, so a pass is
/// reproducible and a failure means the model is off, not bad luck.
/// </summary>
internal static class Binomial
{
    public static double Sigma(double n, double p) => Math.Sqrt(n * p * (1 - p));

    /// <summary>Asserts |measured - n p| &lt;= 4 sqrt(n p (1 - p)) and logs the figures.</summary>
    public static void AssertWithinFourSigma(double measured, double n, double p, string what)
    {
        double mean = n * p, tolerance = 4 * Sigma(n, p);
        string text = $"{what}: measured {measured}, expected n*p = {mean:F1} (n = {n}, p = {p:G4}); 4 sigma = 4*sqrt(n p (1-p)) = {tolerance:F1}";
        TestContext.Out.WriteLine(text);
        Assert.That(measured, Is.EqualTo(mean).Within(tolerance), text);
    }

    /// <summary>
    /// Asserts a count of independent Bernoulli events with total expectation <paramref name="expected"/> (a sum of
    /// binomials with different p) lies within 4 sqrt(expected): its variance sum p_i (1 - p_i) is at most sum p_i.
    /// </summary>
    public static void AssertWithinFourSigmaOfSum(double measured, double expected, string what)
    {
        double tolerance = 4 * Math.Sqrt(expected);
        string text = $"{what}: measured {measured}, expected {expected:F1}; 4 sigma <= 4*sqrt(sum p_i) = {tolerance:F1}";
        TestContext.Out.WriteLine(text);
        Assert.That(measured, Is.EqualTo(expected).Within(tolerance), text);
    }
}
