using HilBench.Bnn.Layers;
using HilBench.Bnn.Tensors;

namespace HilBench.Bnn.Model;

/// <summary>
/// A binarized neural network: a sequence of layers on 8-bit input images, grouped into blocks
/// (weight layer, optional max pool, threshold), ending in an output weight layer whose integer
/// pre-activations, times <see cref="LogitScale"/>, are the logits.
/// </summary>
public sealed class BnnModel
{
    public BnnModel(TensorShape inputShape, IReadOnlyList<BnnLayer> layers, float logitScale = 1f, ModelMetadata? metadata = null)
    {
        if (!(logitScale > 0) || float.IsInfinity(logitScale))
            throw new ArgumentException($"logit scale must be positive and finite, got {logitScale}");
        InputShape = inputShape;
        Layers = layers.ToArray();
        LogitScale = logitScale;
        Metadata = metadata ?? ModelMetadata.Empty;
        Blocks = BuildBlocks(inputShape, layers.ToArray());
    }

    public TensorShape InputShape { get; }

    public IReadOnlyList<BnnLayer> Layers { get; }

    public IReadOnlyList<BnnBlock> Blocks { get; }

    /// <summary>Positive factor applied to the integer logits (kept from training; it never changes the argmax).</summary>
    public float LogitScale { get; }

    public ModelMetadata Metadata { get; }

    public int Classes => Blocks[^1].Linear.Outputs;

    /// <summary>Total number of binarized weights (bits) in the model.</summary>
    public long WeightBits => Blocks.Sum(b => b.Linear.Weights.BitCount);

    /// <summary>Short description such as "784-2048-2048-10" or "28x28x1 conv3x3(64) maxpool ...".</summary>
    public string Describe() => string.Join(" ", Layers.Select(l => l switch
    {
        BinaryDense d => $"dense({d.Outputs})",
        BinaryConv2d c => $"conv3x3({c.Outputs})",
        MaxPool2d => "maxpool2x2",
        ThresholdLayer => "threshold",
        _ => l.Kind,
    }).Prepend($"input({InputShape})"));

    public BnnModel WithMetadata(ModelMetadata metadata) => new(InputShape, Layers, LogitScale, metadata);

    /// <summary>The same model with the weights of every block replaced (same shapes), e.g. after a trip through faulty memory.</summary>
    public BnnModel WithWeights(IReadOnlyList<BitMatrix> weights)
    {
        if (weights.Count != Blocks.Count) throw new ArgumentException($"expected {Blocks.Count} weight matrices, got {weights.Count}");
        var layers = new List<BnnLayer>(Layers.Count);
        int b = 0;
        foreach (var layer in Layers)
        {
            if (layer is WeightLayer w)
            {
                var nw = weights[b++];
                if (nw.Rows != w.Weights.Rows || nw.Columns != w.Weights.Columns)
                    throw new ArgumentException($"block {b - 1}: weights are {nw.Rows}x{nw.Columns}, expected {w.Weights.Rows}x{w.Weights.Columns}");
                layers.Add(w.WithWeights(nw));
            }
            else layers.Add(layer);
        }
        return new BnnModel(InputShape, layers, LogitScale, Metadata);
    }

    private static BnnBlock[] BuildBlocks(TensorShape inputShape, BnnLayer[] layers)
    {
        if (layers.Length == 0) throw new InvalidModelException("the model has no layers");
        var blocks = new List<BnnBlock>();
        var shape = inputShape;
        int i = 0;
        while (i < layers.Length)
        {
            if (layers[i] is not WeightLayer linear)
                throw new InvalidModelException($"layer {i} ({layers[i].Kind}) must be a dense or conv layer: every block starts with a weight layer");
            CheckInput(i, linear, shape);
            shape = linear.OutputShape;
            i++;
            MaxPool2d? pool = null;
            if (i < layers.Length && layers[i] is MaxPool2d p)
            {
                CheckInput(i, p, shape);
                pool = p;
                shape = p.OutputShape;
                i++;
            }
            ThresholdLayer? threshold = null;
            if (i < layers.Length)
            {
                if (layers[i] is not ThresholdLayer t)
                    throw new InvalidModelException($"layer {i} ({layers[i].Kind}) must be a threshold: a hidden weight layer is followed by [maxpool2x2] threshold");
                CheckInput(i, t, shape);
                threshold = t;
                i++;
            }
            blocks.Add(new BnnBlock(blocks.Count, linear, pool, threshold));
        }
        if (blocks[^1].Pool is not null || !blocks[^1].Linear.OutputShape.IsVector)
            throw new InvalidModelException("the output layer must be a dense layer without pooling");
        return blocks.ToArray();
    }

    private static void CheckInput(int index, BnnLayer layer, TensorShape expected)
    {
        bool ok = layer is BinaryDense ? layer.InputShape.Size == expected.Size : layer.InputShape == expected;
        if (!ok)
            throw new InvalidModelException($"layer {index} ({layer.Kind}) expects input {layer.InputShape} but the previous layer produces {expected}");
    }
}

/// <summary>The layers of a model do not fit together.</summary>
public sealed class InvalidModelException(string message) : Exception(message);
