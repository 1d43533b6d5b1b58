using System.Runtime.CompilerServices;

namespace HilBench.Metrics.Importance;

/// <summary>
/// Integer totals of the output for each inverted neuron: correctly classified images and the sum of
/// integer output margins. Every path (shortcut, re-run, naive) reduces to these, so equal totals give
/// bit-identical importances; integer sums also make the result independent of thread count and order.
/// </summary>
internal sealed class OutputScores
{
    public OutputScores(int neurons)
    {
        Correct = new long[neurons];
        MarginSum = new long[neurons];
    }

    public long[] Correct { get; }

    /// <summary>Sum over images of (top-1 integer logit - runner-up integer logit).</summary>
    public long[] MarginSum { get; }

    public void Add(int neuron, ReadOnlySpan<int> logits, int label)
    {
        var (top, margin) = Score(logits);
        if (top == label) Correct[neuron]++;
        MarginSum[neuron] += margin;
    }

    public void AddRange(OutputScores other)
    {
        for (int j = 0; j < Correct.Length; j++)
        {
            Correct[j] += other.Correct[j];
            MarginSum[j] += other.MarginSum[j];
        }
    }

    /// <summary>
    /// Top-1 class (ties to the lowest index, as <c>InferenceResult.ArgMax</c>) and the margin to the runner-up,
    /// the largest logit among the other classes (0 on a tie; 0 with a single class).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (int Top, long Margin) Score(ReadOnlySpan<int> logits)
    {
        int top = 0, best = logits[0];
        long second = long.MinValue;
        for (int k = 1; k < logits.Length; k++)
        {
            int v = logits[k];
            if (v > best)
            {
                second = best;
                best = v;
                top = k;
            }
            else if (v > second) second = v;
        }
        return (top, logits.Length == 1 ? 0 : best - second);
    }

    /// <summary>Importances from the totals: accuracy and mean-margin drops against the unmodified model.</summary>
    public LayerImportance Finish(int block, long baseCorrect, long baseMarginSum, int images, float logitScale)
    {
        int neurons = Correct.Length;
        var acc = new double[neurons];
        var margin = new double[neurons];
        for (int j = 0; j < neurons; j++)
        {
            acc[j] = (double)(baseCorrect - Correct[j]) / images;
            margin[j] = (double)(baseMarginSum - MarginSum[j]) * logitScale / images;
        }
        return LayerImportance.FromDrops(block, acc, margin);
    }
}
