using HilBench.Bnn.Model;
using HilBench.Bnn.Tensors;
using HilBench.Memory.Geometry;
using HilBench.Memory.Images;

namespace HilBench.Memory.Tests.Support;

/// <summary>Small seeded models and images.</summary>
internal static class TestImages
{
    /// <summary>An MLP 64-64-32-10 on 8x8x1 inputs (6,464 weight bits).</summary>
    public static BnnModel SmallMlp(int seed = 1) => ModelBuilder.FromSpec("dense64,dense32,dense10", new TensorShape(8, 8, 1), new Random(seed));

    /// <summary>A conv net on 8x8x2 inputs: conv8, pool, conv16, pool, dense32, dense10.</summary>
    public static BnnModel SmallConv(int seed = 1) => ModelBuilder.FromSpec("conv8,pool,conv16,pool,dense32,dense10", new TensorShape(8, 8, 2), new Random(seed));

    /// <summary>
    /// A one-block model whose weights fill a memory exactly (rows of 4096 bits), so its image occupies every cell
    /// under a contiguous placement. About half the bits are ones.
    /// </summary>
    public static WeightImage Filling(MemoryGeometry geometry, int seed = 1)
    {
        const int columns = 4096;
        if (geometry.TotalBits % columns != 0) throw new ArgumentException($"{geometry} is not a multiple of {columns} bits");
        var model = ModelBuilder.FromSpec($"dense{geometry.TotalBits / columns}", new TensorShape(1, 1, columns), new Random(seed));
        var image = WeightImage.FromModel(model);
        Assert.That(image.BitCount, Is.EqualTo(geometry.TotalBits));
        return image;
    }

    /// <summary>An image of the given layout with every bit set to <paramref name="value"/>.</summary>
    public static WeightImage Constant(ImageLayout layout, bool value)
    {
        var image = new WeightImage(layout);
        if (value)
            for (long i = 0; i < image.BitCount; i++) image[i] = true;
        return image;
    }

    public static long Ones(WeightImage image)
    {
        long ones = 0;
        foreach (ulong w in image.Words) ones += (long)ulong.PopCount(w);
        return ones;
    }
}
