using HilBench.Bnn.Data;
using HilBench.Bnn.Kernels;
using HilBench.Bnn.Layers;
using HilBench.Bnn.Model;
using HilBench.Bnn.Tensors;

namespace HilBench.Bnn.Training;

/// <summary>Loss and accuracy of the batches seen so far in an epoch.</summary>
public readonly record struct BatchProgress(int Epoch, int Batch, int Batches, double MeanLoss, double Accuracy);

/// <summary>
/// Trains a BNN of dense and convolutional blocks (3x3 convolutions, optionally 2x2 max pooling) with the straight-through estimator. Latent real weights are binarized by
/// sign (bit flip training flips the binarized bits on every forward pass); the forward pass runs the
/// integer inference kernels, so pre-activations are exactly those of the exported model; gradients are
/// float matrix products; Adam updates the latent weights, which are then clipped to [-1, 1]. Batch norm
/// keeps running statistics that fold into integer thresholds on export.
/// </summary>
public sealed class BnnTrainer
{
    private readonly TrainingOptions _options;
    private readonly TensorShape _input;
    private readonly int _classes;
    private readonly KernelPath _path;
    private readonly int _threads;
    private readonly TrainingBlock[] _blocks;
    private readonly AdamOptimizer _adam = new();
    private readonly float[] _logScale = new float[1];
    private readonly int _scaleSlot;
    private float[] _pixelsAsFloat = [];
    private float[] _logits = [];
    private float[] _logitGradient = [];
    private float[] _outputGradient = [];


    /// <exception cref="ArgumentException">An option is outside its valid range (the message names it).</exception>
    public BnnTrainer(TensorShape input, int classes, TrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Validate(options);
        _options = options;
        _input = input;
        _classes = classes;
        _path = KernelPaths.Resolve(KernelPath.Auto);
        _threads = options.Threads > 0 ? options.Threads : Environment.ProcessorCount;
        // Building the inference model first checks the spec against the input shape with the usual messages.
        var spec = ModelBuilder.ParseSpec(options.Architecture);
        ModelBuilder.FromSpec(options.Architecture, input, new Random(0));
        if (spec[^1].Size != classes)
            throw new FormatException($"the architecture ends in {spec[^1].Size} outputs but the data set has {classes} classes; end it with dense{classes}");
        var init = Randomness.Derive(options.Seed, -1);
        var blocks = new List<TrainingBlock>();
        var shape = input;
        for (int i = 0; i < spec.Count; i++)
        {
            var (kind, size) = spec[i];
            if (kind == "pool") continue;
            bool hidden = i < spec.Count - 1;
            TrainingBlock block = kind == "conv"
                ? new TrainingBlock(blocks.Count, shape, size, pool: i + 1 < spec.Count && spec[i + 1].Kind == "pool", hidden, init, _adam)
                : new TrainingBlock(blocks.Count, shape.Size, size, hidden, init, _adam);
            blocks.Add(block);
            shape = block.OutputShape;
        }
        _blocks = blocks.ToArray();
        int fanIn = _blocks[^1].In;
        // Cross-entropy learns the logit scale (as e^theta); margin losses keep y = the integer dot products.
        _logScale[0] = LearnsScale ? (float)Math.Log(1 / Math.Sqrt(fanIn)) : 0f;
        _scaleSlot = _adam.Register(1);
    }

    /// <summary>Refuses options that would crash or silently ruin a run, naming the option and its valid range.</summary>
    private static void Validate(TrainingOptions o)
    {
        static void Require(bool ok, string option, string range, object value)
        {
            if (!ok) throw new ArgumentException($"{option} must be {range}, not {value}", "options");
        }
        Require(o.Epochs > 0, nameof(o.Epochs), "at least 1", o.Epochs);
        Require(o.BatchSize > 0, nameof(o.BatchSize), "at least 1", o.BatchSize);
        Require(double.IsFinite(o.LearningRate) && o.LearningRate > 0, nameof(o.LearningRate), "a finite number above 0", o.LearningRate);
        Require(o.LearningRateSteps.All(e => e > 0), nameof(o.LearningRateSteps), "a list of epochs of at least 1", string.Join(",", o.LearningRateSteps));
        Require(double.IsFinite(o.LearningRateDecay) && o.LearningRateDecay > 0, nameof(o.LearningRateDecay), "a finite number above 0", o.LearningRateDecay);
        Require(o.Threads >= 0, nameof(o.Threads), "0 (all cores) or more", o.Threads);
        Require(o.Loss is not null, nameof(o.Loss), "a loss", "null");
        Require(double.IsFinite(o.BatchNormEpsilon) && o.BatchNormEpsilon > 0, nameof(o.BatchNormEpsilon), "a finite number above 0", o.BatchNormEpsilon);
        Require(o.BatchNormMomentum is >= 0 and <= 1, nameof(o.BatchNormMomentum), "between 0 and 1", o.BatchNormMomentum);
    }

    private bool LearnsScale => _options.Loss.Name == "ce";

    public float LogitScale => MathF.Exp(_logScale[0]);

    /// <summary>One pass over the training images in a seeded order; returns the mean loss and accuracy of its batches.</summary>
    public BatchProgress TrainEpoch(ImageSet train, int epoch, Action<BatchProgress>? progress = null, CancellationToken cancel = default)
    {
        if (train.Shape != _input) throw new ArgumentException($"training images are {train.Shape}, the model expects {_input}");
        int n = train.Count, batch = _options.BatchSize;
        var order = Enumerable.Range(0, n).ToArray();
        var shuffle = Randomness.Derive(_options.Seed, epoch);
        for (int i = n - 1; i > 0; i--)
        {
            int j = shuffle.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        // Drawn after the shuffle from the same stream, so runs without flips keep their data order.
        var mirror = _options.HorizontalFlips ? Enumerable.Range(0, n).Select(_ => shuffle.Next(2) == 1).ToArray() : null;
        int batches = (n + batch - 1) / batch;
        double lossSum = 0;
        long correct = 0, seen = 0;
        double lr = _options.LearningRateAt(epoch);
        var pixels = new byte[batch * _input.Size];
        var labels = new byte[batch];
        for (int k = 0; k < batches; k++)
        {
            cancel.ThrowIfCancellationRequested();
            int first = k * batch, count = Math.Min(batch, n - first);
            for (int i = 0; i < count; i++)
            {
                var target = pixels.AsSpan(i * _input.Size, _input.Size);
                if (mirror is not null && mirror[first + i]) Mirror(train.Image(order[first + i]), target, _input);
                else train.Image(order[first + i]).CopyTo(target);
                labels[i] = train.Labels[order[first + i]];
            }
            var (loss, hits) = Step(pixels.AsSpan(0, count * _input.Size), labels.AsSpan(0, count), count, lr, Randomness.Derive(_options.Seed, ((long)epoch << 32) + k));
            lossSum += loss * count;
            correct += hits;
            seen += count;
            progress?.Invoke(new BatchProgress(epoch, k + 1, batches, lossSum / seen, (double)correct / seen));
        }
        return new BatchProgress(epoch, batches, batches, lossSum / seen, (double)correct / seen);
    }

    /// <summary>Copies an HWC image mirrored left-right.</summary>
    internal static void Mirror(ReadOnlySpan<byte> source, Span<byte> target, TensorShape shape)
    {
        int c = shape.Channels, w = shape.Width;
        for (int y = 0; y < shape.Height; y++)
            for (int x = 0; x < w; x++)
                source.Slice((y * w + x) * c, c).CopyTo(target.Slice((y * w + w - 1 - x) * c, c));
    }

    /// <summary>Forward, loss, backward and update on one batch; returns the loss and the number of correct predictions.</summary>
    private (double Loss, int Correct) Step(ReadOnlySpan<byte> pixels, ReadOnlySpan<byte> labels, int count, double lr, Random flips)
    {
        // Forward: block inputs are pixels (block 0) or the previous block's +-1 outputs, packed and as floats.
        var x = Buffers.Ensure(ref _pixelsAsFloat, count * _input.Size);
        for (int i = 0; i < x.Length; i++) x[i] = pixels[i];
        ulong[]? bits = null;
        foreach (var block in _blocks)
        {
            block.Binarize(_options.BitFlips, flips);
            block.Forward(pixels, bits, x, count, _path, _options, training: true, _threads);
            x = block.Output!;
            bits = block.OutputBits;
        }

        // Loss on y = scale * a of the output block.
        var output = _blocks[^1];
        float scale = LogitScale;
        var y = Buffers.Ensure(ref _logits, count * _classes);
        for (int i = 0; i < y.Length; i++) y[i] = scale * output.PreActivations![i];
        var dy = Buffers.Ensure(ref _logitGradient, y.Length);
        double loss = _options.Loss.Compute(y, labels, _classes, dy);
        int correct = 0;
        for (int i = 0; i < count; i++)
        {
            int best = 0;
            for (int c = 1; c < _classes; c++) if (y[i * _classes + c] > y[i * _classes + best]) best = c;
            if (best == labels[i]) correct++;
        }

        // Backward.
        var scaleGrad = new float[1];
        var da = Buffers.Ensure(ref _outputGradient, dy.Length);
        for (int i = 0; i < dy.Length; i++)
        {
            da[i] = scale * dy[i];
            if (LearnsScale) scaleGrad[0] += dy[i] * y[i];
        }
        for (int b = _blocks.Length - 1; b >= 0; b--)
        {
            var dx = _blocks[b].Backward(da, count, _threads, needInputGradient: b > 0);
            if (b > 0) da = _blocks[b - 1].BatchNormBackward(dx!, count);
        }

        _adam.BeginStep();
        foreach (var block in _blocks) block.Update(_adam, lr);
        if (LearnsScale) _adam.Update(_scaleSlot, _logScale, scaleGrad, lr);
        return (loss, correct);
    }

    /// <summary>The trained network as an inference model: signs of the latent weights, batch norm folded into thresholds.</summary>
    public BnnModel Export(ModelMetadata? metadata = null)
    {
        var layers = new List<BnnLayer>();
        var shape = _input;
        foreach (var block in _blocks)
        {
            layers.AddRange(block.ExportLayers(shape, _options.BatchNormEpsilon));
            shape = block.OutputShape;
        }
        return new BnnModel(_input, layers, LogitScale, metadata);
    }

    /// <summary>Every array of the training state in a fixed order (checkpoints write and read them in this order).</summary>
    internal IEnumerable<Array> StateArrays()
    {
        foreach (var b in _blocks)
        {
            yield return b.Latent;
            if (!b.Hidden) continue;
            yield return b.Gamma;
            yield return b.Beta;
            yield return b.RunningMean;
            yield return b.RunningVariance;
        }
        yield return _logScale;
        foreach (var m in _adam.FirstMoments) yield return m;
        foreach (var v in _adam.SecondMoments) yield return v;
    }

    /// <summary>Blocks in order, for checkpoints and tests.</summary>
    internal IReadOnlyList<TrainingBlock> Blocks => _blocks;

    internal AdamOptimizer Optimizer => _adam;

    internal TrainingOptions Options => _options;

    internal float[] LogScaleParameter => _logScale;
}
