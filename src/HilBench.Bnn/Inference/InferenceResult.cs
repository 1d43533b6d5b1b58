using HilBench.Bnn.Tensors;

namespace HilBench.Bnn.Inference;

/// <summary>What one block produced for every image: integer pre-activations (after pooling) and, for hidden blocks, the +-1 outputs.</summary>
public sealed class LayerActivations
{
    public LayerActivations(int blockIndex, TensorShape shape, int count, int[] preActivations, BitMatrix? outputs)
    {
        BlockIndex = blockIndex;
        Shape = shape;
        Count = count;
        PreActivations = preActivations;
        Outputs = outputs;
    }

    public int BlockIndex { get; }

    /// <summary>Shape of one image's pre-activations (HWC, after pooling).</summary>
    public TensorShape Shape { get; }

    public int Count { get; }

    /// <summary>Count * Shape.Size integers, image after image.</summary>
    public int[] PreActivations { get; }

    /// <summary>One row of Shape.Size bits per image (bit 1 = +1); null for the output block.</summary>
    public BitMatrix? Outputs { get; }

    public ReadOnlySpan<int> PreActivationsOf(int image) => PreActivations.AsSpan(image * Shape.Size, Shape.Size);
}

/// <summary>Predictions and integer logits for a batch of images, and per-block activations when requested.</summary>
public sealed class InferenceResult
{
    public InferenceResult(int count, int classes, int[] logits, int[] predictions, IReadOnlyList<LayerActivations>? layers)
    {
        Count = count;
        Classes = classes;
        Logits = logits;
        Predictions = predictions;
        Layers = layers;
    }

    public int Count { get; }

    public int Classes { get; }

    /// <summary>Count * Classes integer logits (unscaled output pre-activations), image after image.</summary>
    public int[] Logits { get; }

    /// <summary>Argmax of each image's logits, ties to the lowest class index.</summary>
    public int[] Predictions { get; }

    /// <summary>Per-block activations, only when requested (null otherwise, nothing is copied).</summary>
    public IReadOnlyList<LayerActivations>? Layers { get; }

    public ReadOnlySpan<int> LogitsOf(int image) => Logits.AsSpan(image * Classes, Classes);

    /// <summary>Fraction of images whose prediction equals the label.</summary>
    public double Accuracy(ReadOnlySpan<byte> labels)
    {
        if (labels.Length != Count) throw new ArgumentException($"expected {Count} labels, got {labels.Length}");
        int correct = 0;
        for (int i = 0; i < Count; i++) if (Predictions[i] == labels[i]) correct++;
        return Count == 0 ? 0 : (double)correct / Count;
    }

    /// <summary>Argmax with ties to the lowest index.</summary>
    public static int ArgMax(ReadOnlySpan<int> logits)
    {
        int best = 0;
        for (int k = 1; k < logits.Length; k++) if (logits[k] > logits[best]) best = k;
        return best;
    }
}
