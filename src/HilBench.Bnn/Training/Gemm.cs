using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using HilBench.Bnn.Kernels;
using HilBench.Bnn.Training.Kernels;

namespace HilBench.Bnn.Training;

/// <summary>Which operand of <see cref="Gemm.Multiply"/> is stored transposed.</summary>
public enum Transpose
{
    /// <summary>C = A B: A is m x k, B is k x n.</summary>
    None,

    /// <summary>C = Aᵀ B: A is stored k x m, B is k x n.</summary>
    A,

    /// <summary>C = A Bᵀ: A is m x k, B is stored n x k.</summary>
    B,
}

/// <summary>
/// Deterministic single-precision matrix product for training (the float side of the BNN).
/// </summary>
/// <remarks>
/// op(A) is packed once into panels of MR rows, op(B) is packed per task into panels of NR
/// columns (KC x NC blocks that stay in L2); a register-blocked micro-kernel computes MR x NR tiles
/// of C (AVX-512 12 x 32, AVX2 6 x 16, scalar 4 x 4). Tasks are blocks of columns (and rows) of C;
/// each element of C is computed by one task, over k in blocks that depend only on k, each block
/// summed in order from zero and then added to C. The result is therefore bit-identical for every
/// thread count (and the AVX-512 and AVX2 paths, both fused, agree bit for bit).
/// </remarks>
public static class Gemm
{
    /// <summary>Largest k block: a 32-column B micro-panel of KC steps takes 32 KB of L1.</summary>
    internal const int MaxKc = 256;

    /// <summary>Columns of C per task when there are enough of them (KC x NC of packed B is 256 KB, in L2).</summary>
    internal const int TaskColumns = 256;

    /// <summary>With several threads, at least this many tasks per thread, for balance.</summary>
    internal const int TasksPerThread = 4;

    /// <summary>Below this many multiply-adds one thread does the work.</summary>
    private const long ParallelThreshold = 1L << 21;

    /// <summary>
    /// C[m x n] (row-major, leading dimension n) = op(A) op(B) + beta C.
    /// op(A) is m x k: A is m x k row-major (<see cref="Transpose.None"/> or <see cref="Transpose.B"/>)
    /// or k x m row-major (<see cref="Transpose.A"/>). op(B) is k x n: B is k x n row-major
    /// (None or A) or n x k row-major (<see cref="Transpose.B"/>). With beta = 0, C is overwritten
    /// (whatever it held, NaN included, is ignored); k = 0 gives C = beta C. C must not overlap A or B.
    /// Uses up to <paramref name="threads"/> threads (0 = all cores); the result does not depend on it.
    /// </summary>
    public static void Multiply(Transpose transpose, int m, int n, int k, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, float beta = 0f, int threads = 1) =>
        Multiply(KernelPath.Auto, transpose, m, n, k, a, b, c, beta, threads);

    /// <summary>Whether this CPU can run <paramref name="path"/> (Vector512 needs AVX-512F, Vector256 AVX2 and FMA).</summary>
    internal static bool IsSupported(KernelPath path) => path switch
    {
        KernelPath.Auto or KernelPath.Scalar => true,
        KernelPath.Vector256 => Avx2.IsSupported && Fma.IsSupported,
        KernelPath.Vector512 => Avx512F.IsSupported,
        _ => false,
    };

    /// <summary>Concrete paths this CPU supports, narrowest first.</summary>
    internal static IReadOnlyList<KernelPath> SupportedPaths() =>
        new[] { KernelPath.Scalar, KernelPath.Vector256, KernelPath.Vector512 }.Where(IsSupported).ToArray();

    /// <summary><see cref="Multiply(Transpose, int, int, int, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, float, int)"/> on a chosen kernel path.</summary>
    internal static unsafe void Multiply(KernelPath path, Transpose transpose, int m, int n, int k, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, float beta = 0f, int threads = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        if (!Enum.IsDefined(transpose)) throw new ArgumentOutOfRangeException(nameof(transpose), transpose, "unknown transpose");
        if (a.Length < (long)m * k)
            throw new ArgumentException($"A holds {a.Length} values, op(A) of {m} x {k} needs {(long)m * k}", nameof(a));
        if (b.Length < (long)k * n)
            throw new ArgumentException($"B holds {b.Length} values, op(B) of {k} x {n} needs {(long)k * n}", nameof(b));
        if (c.Length < (long)m * n)
            throw new ArgumentException($"C holds {c.Length} values, {m} x {n} needs {(long)m * n}", nameof(c));
        if (path == KernelPath.Auto) path = SupportedPaths()[^1];
        else if (!IsSupported(path)) throw new PlatformNotSupportedException($"GEMM kernel path {path} is not supported by this CPU");
        if (threads <= 0) threads = Environment.ProcessorCount;
        if (m == 0 || n == 0) return;
        c = c[..(m * n)];
        if (k == 0)
        {
            if (beta == 0f) c.Clear();
            else if (beta != 1f)
                for (int i = 0; i < c.Length; i++) c[i] *= beta;
            return;
        }

        // op(A)(i, p) = a[i * ars + p * acs], op(B)(p, j) = b[p * brs + j * bcs].
        nint ars = transpose == Transpose.A ? 1 : k, acs = transpose == Transpose.A ? m : 1;
        nint brs = transpose == Transpose.B ? 1 : n, bcs = transpose == Transpose.B ? k : 1;
        if ((long)m * n * k < ParallelThreshold) threads = 1;
        fixed (float* pa = a, pb = b, pc = c)
        {
            var op = new Operands(pa, ars, acs, pb, brs, bcs, pc, m, n, k, beta);
            switch (path)
            {
                case KernelPath.Vector512: Driver<GemmKernel512>.Run(op, threads, avx512: true); break;
                case KernelPath.Vector256: Driver<GemmKernel256>.Run(op, threads, avx512: false); break;
                default: Driver<GemmKernelScalar>.Run(op, threads, avx512: false); break;
            }
        }
    }

    /// <summary>The product as strided views: C(i, j) = c[i * Crs + j * Ccs].</summary>
    private readonly unsafe struct Operands(float* a, nint ars, nint acs, float* b, nint brs, nint bcs, float* c, int m, int n, int k, float beta)
    {
        public readonly float* A = a, B = b, C = c;
        public readonly nint Ars = ars, Acs = acs, Brs = brs, Bcs = bcs;
        public readonly nint Crs = n, Ccs = 1;
        public readonly int M = m, N = n, K = k;
        public readonly float Beta = beta;

        private Operands(Operands o, bool _) : this(o.B, o.Bcs, o.Brs, o.A, o.Acs, o.Ars, o.C, o.N, o.M, o.K, o.Beta)
        {
            Crs = 1;
            Ccs = o.N;
        }

        /// <summary>Cᵀ = op(B)ᵀ op(A)ᵀ: the same products in the same order, stored transposed.</summary>
        public Operands Transposed() => new(this, true);
    }

    private static unsafe class Driver<TK> where TK : struct, IGemmMicroKernel
    {
        public static void Run(Operands op, int threads, bool avx512)
        {
            int mr = TK.MR, nr = TK.NR;
            // A narrow C (say 256 x 10) wastes most of every NR-wide tile: compute Cᵀ instead.
            if (Padded(op.N, op.M, mr, nr) * 5 < Padded(op.M, op.N, mr, nr) * 4) op = op.Transposed();
            var job = new Job(op, threads, avx512);
            try
            {
                job.Run();
            }
            finally
            {
                job.Release();
            }
        }

        private static int Ceil(int x, int y) => (x + y - 1) / y;

        private static long Padded(int m, int n, int mr, int nr) => (long)Ceil(m, mr) * mr * Ceil(n, nr) * nr;

        /// <summary>
        /// One product. Workers first pack op(A) in chunks of panels, wait until every chunk is
        /// packed, then take tasks (blocks of C) until none are left. A worker only ever waits for
        /// chunks other running workers have claimed, so fewer pool threads than asked cannot deadlock.
        /// </summary>
        private sealed class Job
        {
            private readonly Operands _op;
            private readonly int _threads;
            private readonly bool _avx512;
            private readonly int _rowPanels, _colPanels, _kBlocks, _maxKc;
            private readonly int _colBlocks, _panelsPerColBlock, _rowBlocks, _panelsPerRowBlock;
            private readonly int _chunks;
            private readonly float[] _aPackedArray;
            private readonly float* _aPacked;
            private int _nextChunk, _chunksDone, _nextTask;

            public Job(Operands op, int threads, bool avx512)
            {
                _op = op;
                _avx512 = avx512;
                int mr = TK.MR, nr = TK.NR;
                _rowPanels = Ceil(op.M, mr);
                _colPanels = Ceil(op.N, nr);
                _kBlocks = Ceil(op.K, MaxKc);
                _maxKc = Ceil(op.K, _kBlocks);
                // Tasks: blocks of about TaskColumns columns of C; with several threads at least
                // TasksPerThread tasks per thread, splitting columns first (each task packs its own
                // part of B) and rows only when the columns run out.
                int want = threads > 1 ? TasksPerThread * threads : 1;
                _colBlocks = Math.Min(_colPanels, Math.Max(Ceil(_colPanels, Math.Max(1, TaskColumns / nr)), want));
                _panelsPerColBlock = Ceil(_colPanels, _colBlocks);
                _colBlocks = Ceil(_colPanels, _panelsPerColBlock);
                _rowBlocks = Math.Min(_rowPanels, Ceil(want, _colBlocks));
                _panelsPerRowBlock = Ceil(_rowPanels, _rowBlocks);
                _rowBlocks = Ceil(_rowPanels, _panelsPerRowBlock);
                _threads = Math.Max(1, Math.Min(threads, _rowBlocks * _colBlocks));
                _chunks = Math.Min(_rowPanels, 4 * _threads);
                _aPackedArray = PackBuffers.Rent((long)_rowPanels * mr * op.K, out _aPacked);
            }

            public void Release() => PackBuffers.Return(_aPackedArray);

            public void Run()
            {
                if (_threads == 1) Worker();
                else Parallel.For(0, _threads, new ParallelOptions { MaxDegreeOfParallelism = _threads }, _ => Worker());
            }

            [MethodImpl(MethodImplOptions.AggressiveOptimization)]
            private void Worker()
            {
                int mr = TK.MR, nr = TK.NR;
                for (int ch = Interlocked.Increment(ref _nextChunk) - 1; ch < _chunks; ch = Interlocked.Increment(ref _nextChunk) - 1)
                {
                    PackAPanels((int)((long)_rowPanels * ch / _chunks), (int)((long)_rowPanels * (ch + 1) / _chunks));
                    Interlocked.Increment(ref _chunksDone);
                }
                long bSize = (long)_panelsPerColBlock * nr * _maxKc;
                float[] buffer = PackBuffers.Rent(bSize + mr * nr, out float* bPacked);
                try
                {
                    float* tile = bPacked + bSize;
                    var spin = new SpinWait();
                    while (Volatile.Read(ref _chunksDone) < _chunks) spin.SpinOnce(sleep1Threshold: -1);
                    // The n-th task taken is the (n / threads)-th of the (n % threads)-th of `threads`
                    // equal runs of tasks: workers start far apart in C and do not share its cache lines.
                    int tasks = _rowBlocks * _colBlocks, perRun = Ceil(tasks, _threads);
                    for (int n = Interlocked.Increment(ref _nextTask) - 1; n < perRun * _threads; n = Interlocked.Increment(ref _nextTask) - 1)
                    {
                        int t = n % _threads * perRun + n / _threads;
                        if (t < tasks) RunTask(t / _rowBlocks, t % _rowBlocks, bPacked, tile);
                    }
                }
                finally
                {
                    PackBuffers.Return(buffer);
                }
            }

            [MethodImpl(MethodImplOptions.AggressiveOptimization)]
            private void PackAPanels(int from, int to)
            {
                int mr = TK.MR;
                for (int q = from; q < to; q++)
                {
                    int i = q * mr;
                    GemmPacking.Pack(_op.A + i * _op.Ars, _op.Ars, _op.Acs, Math.Min(mr, _op.M - i), _op.K, mr, _aPacked + (long)q * mr * _op.K, _avx512);
                }
            }

            [MethodImpl(MethodImplOptions.AggressiveOptimization)]
            private void RunTask(int colBlock, int rowBlock, float* bPacked, float* tile)
            {
                int nr = TK.NR;
                Operands op = _op;
                int q0 = rowBlock * _panelsPerRowBlock, q1 = Math.Min(_rowPanels, q0 + _panelsPerRowBlock);
                int c0 = colBlock * _panelsPerColBlock, c1 = Math.Min(_colPanels, c0 + _panelsPerColBlock);
                int p0 = 0;
                for (int kb = 0; kb < _kBlocks; kb++)
                {
                    int kc = op.K / _kBlocks + (kb < op.K % _kBlocks ? 1 : 0);
                    float beta = kb == 0 ? op.Beta : 1f;
                    for (int cp = c0; cp < c1; cp++)
                    {
                        int j = cp * nr;
                        GemmPacking.Pack(op.B + p0 * op.Brs + j * op.Bcs, op.Bcs, op.Brs, Math.Min(nr, op.N - j), kc, nr,
                            bPacked + (long)(cp - c0) * nr * kc, _avx512);
                    }
                    // An A micro-panel stays in L1 while the packed B block streams from L2.
                    for (int q = q0; q < q1; q++)
                        for (int cp = c0; cp < c1; cp++)
                            Tile(q, cp, c0, p0, kc, beta, bPacked, tile);
                    p0 += kc;
                }
            }

            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            private void Tile(int q, int cp, int c0, int p0, int kc, float beta, float* bPacked, float* tile)
            {
                int mr = TK.MR, nr = TK.NR;
                Operands op = _op;
                int i = q * mr, j = cp * nr;
                int rows = Math.Min(mr, op.M - i), cols = Math.Min(nr, op.N - j);
                float* ap = _aPacked + (long)q * mr * op.K + (long)p0 * mr;
                float* bp = bPacked + (long)(cp - c0) * nr * kc;
                if (op.Ccs == 1 && rows == mr && cols == nr)
                {
                    TK.Run(kc, ap, bp, op.C + i * op.Crs + j, op.Crs, beta);
                }
                else
                {
                    TK.Run(kc, ap, bp, tile, nr, 0f);
                    Merge(tile, nr, rows, cols, op.C + i * op.Crs + j * op.Ccs, op.Crs, op.Ccs, beta);
                }
            }

            /// <summary>Adds a computed tile into C exactly as the micro-kernel's own store would.</summary>
            [MethodImpl(MethodImplOptions.AggressiveOptimization)]
            private static void Merge(float* tile, int ldt, int rows, int cols, float* c, nint crs, nint ccs, float beta)
            {
                for (int r = 0; r < rows; r++)
                {
                    float* t = tile + r * ldt;
                    float* d = c + r * crs;
                    for (int j = 0; j < cols; j++, d += ccs)
                        *d = beta == 0f ? t[j] : TK.Fused ? MathF.FusedMultiplyAdd(beta, *d, t[j]) : beta * *d + t[j];
                }
            }
        }
    }

    /// <summary>Pinned, 64-byte aligned scratch arrays, kept for the next call.</summary>
    private static class PackBuffers
    {
        private static readonly List<float[]> s_free = [];

        public static unsafe float[] Rent(long floats, out float* aligned)
        {
            if (floats + 16 > Array.MaxLength) throw new OutOfMemoryException("GEMM packing buffer too large");
            float[]? found = null;
            lock (s_free)
            {
                int best = -1;
                for (int i = 0; i < s_free.Count; i++)
                    if (s_free[i].Length >= floats + 16 && (best < 0 || s_free[i].Length < s_free[best].Length)) best = i;
                if (best >= 0)
                {
                    found = s_free[best];
                    s_free.RemoveAt(best);
                }
            }
            found ??= GC.AllocateUninitializedArray<float>((int)(floats + 16), pinned: true);
            float* p = (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(found));
            aligned = (float*)(((nint)p + 63) & ~(nint)63);
            return found;
        }

        public static void Return(float[] array)
        {
            lock (s_free)
            {
                if (s_free.Count < 8) s_free.Add(array);
                else
                {
                    int smallest = 0;
                    for (int i = 1; i < s_free.Count; i++)
                        if (s_free[i].Length < s_free[smallest].Length) smallest = i;
                    if (s_free[smallest].Length < array.Length) s_free[smallest] = array;
                }
            }
        }
    }
}
