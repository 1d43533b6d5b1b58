using HilBench.Bnn.Tensors;

namespace HilBench.Bnn.Layers;

/// <summary>One step of a BNN. Layers are small and composable; <see cref="Model.BnnModel"/> checks that they fit together.</summary>
public abstract class BnnLayer
{
    protected BnnLayer(TensorShape inputShape) => InputShape = inputShape;

    public TensorShape InputShape { get; }

    public abstract TensorShape OutputShape { get; }

    /// <summary>Short name used in files, tables and error messages ("dense", "conv3x3", "maxpool2x2", "threshold").</summary>
    public abstract string Kind { get; }

    public override string ToString() => $"{Kind} {InputShape} -> {OutputShape}";
}

/// <summary>
/// A layer with binarized weights: each output is an integer dot product of +-1 weights with its inputs.
/// The first such layer of a model reads 8-bit pixels (0..255), every later one reads +-1 activations.
/// </summary>
public abstract class WeightLayer : BnnLayer
{
    protected WeightLayer(TensorShape inputShape, BitMatrix weights) : base(inputShape) => Weights = weights;

    /// <summary>One row per output neuron (or output channel), packed as the layer documents.</summary>
    public BitMatrix Weights { get; }

    /// <summary>Number of weights per output neuron (the row length).</summary>
    public int FanIn => Weights.Columns;

    public int Outputs => Weights.Rows;

    /// <summary>A copy of this layer with other weights of the same shape (used when weights come back from memory).</summary>
    public abstract WeightLayer WithWeights(BitMatrix weights);
}
