namespace HilBench.Bnn.Training;

/// <summary>Buffers reused from step to step: fresh ones for every batch cost more in garbage collection than the step itself.</summary>
internal static class Buffers
{
    /// <summary>The buffer, reallocated only when the length changes (for example for the last, smaller batch of an epoch).</summary>
    public static T[] Ensure<T>(ref T[] buffer, int length)
    {
        if (buffer.Length != length) buffer = new T[length];
        return buffer;
    }
}
