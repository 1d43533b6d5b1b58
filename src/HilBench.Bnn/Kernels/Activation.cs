using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using HilBench.Bnn.Layers;
using HilBench.Bnn.Tensors;

namespace HilBench.Bnn.Kernels;

/// <summary>Max pooling on integer pre-activations and the folded-BN threshold that packs +-1 outputs into bits.</summary>
internal sealed class Activation
{
    private readonly int[] _threshold;
    private readonly int[] _ascending; // -1 for ascending (all bits set), 0 for descending, so it can be used as a vector mask
    private readonly int _size;

    /// <summary>Expands the per-channel thresholds over every position of the map so one flat loop serves dense and conv.</summary>
    public Activation(ThresholdLayer layer)
    {
        var shape = layer.InputShape;
        _size = shape.Size;
        _threshold = new int[_size];
        _ascending = new int[_size];
        for (int i = 0; i < _size; i++)
        {
            int c = i % shape.Channels;
            _threshold[i] = layer.Thresholds[c];
            _ascending[i] = layer.Ascending[c] ? -1 : 0;
        }
    }

    /// <summary>Writes one image's outputs as bits (bit 1 = +1) into a zeroed row of words.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Threshold(KernelPath path, ReadOnlySpan<int> a, Span<ulong> bits)
    {
        int i = 0;
        if (path == KernelPath.Vector512 && Vector512.IsHardwareAccelerated)
        {
            for (; i + 16 <= _size; i += 16)
            {
                var v = Vector512.Create(a.Slice(i, 16));
                var t = Vector512.Create(_threshold.AsSpan(i, 16));
                var asc = Vector512.Create(_ascending.AsSpan(i, 16));
                var on = Vector512.ConditionalSelect(asc, Vector512.GreaterThanOrEqual(v, t), Vector512.LessThanOrEqual(v, t));
                bits[i >> 6] |= on.ExtractMostSignificantBits() << (i & 63);
            }
        }
        else if (path == KernelPath.Vector256 && Vector256.IsHardwareAccelerated)
        {
            for (; i + 8 <= _size; i += 8)
            {
                var v = Vector256.Create(a.Slice(i, 8));
                var t = Vector256.Create(_threshold.AsSpan(i, 8));
                var asc = Vector256.Create(_ascending.AsSpan(i, 8));
                var on = Vector256.ConditionalSelect(asc, Vector256.GreaterThanOrEqual(v, t), Vector256.LessThanOrEqual(v, t));
                bits[i >> 6] |= (ulong)on.ExtractMostSignificantBits() << (i & 63);
            }
        }
        for (; i < _size; i++)
        {
            bool on = _ascending[i] != 0 ? a[i] >= _threshold[i] : a[i] <= _threshold[i];
            if (on) bits[i >> 6] |= 1UL << (i & 63);
        }
    }

    /// <summary>2x2 stride-2 max pool of one image's channels-last map.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MaxPool(ReadOnlySpan<int> a, TensorShape input, Span<int> pooled)
    {
        int c = input.Channels, w = input.Width, ow = input.Width / 2, oh = input.Height / 2;
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++)
            {
                var r00 = a.Slice(((2 * y) * w + 2 * x) * c, c);
                var r01 = a.Slice(((2 * y) * w + 2 * x + 1) * c, c);
                var r10 = a.Slice(((2 * y + 1) * w + 2 * x) * c, c);
                var r11 = a.Slice(((2 * y + 1) * w + 2 * x + 1) * c, c);
                var o = pooled.Slice((y * ow + x) * c, c);
                int k = 0;
                for (; k + 16 <= c; k += 16)
                    Vector512.Max(Vector512.Max(Vector512.Create(r00.Slice(k, 16)), Vector512.Create(r01.Slice(k, 16))),
                        Vector512.Max(Vector512.Create(r10.Slice(k, 16)), Vector512.Create(r11.Slice(k, 16)))).CopyTo(o.Slice(k, 16));
                for (; k < c; k++) o[k] = Math.Max(Math.Max(r00[k], r01[k]), Math.Max(r10[k], r11[k]));
            }
    }
}
