using System.Runtime.Intrinsics.X86;

namespace HilBench.Bnn.Kernels;

/// <summary>
/// Which SIMD width the inference kernels (binary and pixel products, thresholds) use. Every path gives
/// bit-identical results. Max pooling and training use <c>Vector512</c> whatever the path: exact on every CPU
/// (in software where AVX-512 is missing).
/// </summary>
public enum KernelPath
{
    /// <summary>The widest path this CPU supports.</summary>
    Auto,

    /// <summary>Plain 64-bit popcount and integer loops for the products and thresholds; runs everywhere.</summary>
    Scalar,

    /// <summary>AVX2: 256-bit XOR with nibble-table popcount.</summary>
    Vector256,

    /// <summary>AVX-512BW: 512-bit XOR with nibble-table popcount, 16-bit table lookups for 8-bit pixel layers.</summary>
    Vector512,
}

public static class KernelPaths
{
    public static bool IsSupported(KernelPath path) => path switch
    {
        KernelPath.Auto or KernelPath.Scalar => true,
        KernelPath.Vector256 => Avx2.IsSupported,
        KernelPath.Vector512 => Avx512BW.IsSupported,
        _ => false,
    };

    /// <summary>Concrete paths this CPU supports, narrowest first.</summary>
    public static IReadOnlyList<KernelPath> Supported() =>
        new[] { KernelPath.Scalar, KernelPath.Vector256, KernelPath.Vector512 }.Where(IsSupported).ToArray();

    /// <summary>Resolves Auto to the widest supported path; refuses a path this CPU lacks.</summary>
    public static KernelPath Resolve(KernelPath path)
    {
        if (path == KernelPath.Auto) return Supported()[^1];
        if (!IsSupported(path))
            throw new PlatformNotSupportedException($"kernel path {path} needs {(path == KernelPath.Vector512 ? "AVX-512BW" : "AVX2")}, which this CPU lacks; use --kernel auto or scalar");
        return path;
    }
}
