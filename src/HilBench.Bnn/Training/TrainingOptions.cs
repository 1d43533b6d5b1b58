using HilBench.Bnn.Errors;
using HilBench.Bnn.Training.Losses;

namespace HilBench.Bnn.Training;

/// <summary>Everything that decides a training run; the same options and seed give the same model bytes, whatever the thread count.</summary>
public sealed record TrainingOptions
{
    /// <summary>"mlp", "vgg3" or a layer spec (see <see cref="Model.ModelBuilder"/>).</summary>
    public string Architecture { get; init; } = "mlp";

    public int Epochs { get; init; } = 10;

    public int BatchSize { get; init; } = 256;

    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Epochs (1-based) after which the learning rate is multiplied by <see cref="LearningRateDecay"/>; empty: at half and three quarters of the run.</summary>
    public IReadOnlyList<int> LearningRateSteps { get; init; } = [];

    public double LearningRateDecay { get; init; } = 0.1;

    public int Seed { get; init; } = 1;

    /// <summary>Worker threads for the matrix products; 0 = all cores. The trained model does not depend on it.</summary>
    public int Threads { get; init; }

    public ILoss Loss { get; init; } = new CrossEntropyLoss();

    /// <summary>Bit flip training: errors injected into the binarized weights on every forward pass (null = none).</summary>
    public IWeightErrorSource? BitFlips { get; init; }

    /// <summary>Mirror each training image left-right with probability 1/2 (drawn per epoch from the seed), for data sets where that keeps the label.</summary>
    public bool HorizontalFlips { get; init; }

    public double BatchNormEpsilon { get; init; } = 1e-5;

    /// <summary>Weight of the current batch in the running mean and variance (PyTorch's momentum).</summary>
    public double BatchNormMomentum { get; init; } = 0.1;

    /// <summary>Learning rate in force during a 1-based epoch.</summary>
    public double LearningRateAt(int epoch)
    {
        var steps = LearningRateSteps.Count > 0 ? LearningRateSteps : [Math.Max(1, Epochs / 2), Math.Max(1, Epochs * 3 / 4)];
        int passed = steps.Distinct().Count(s => epoch > s);
        return LearningRate * Math.Pow(LearningRateDecay, passed);
    }
}
