namespace HilBench.Bnn.Data;

/// <summary>
/// A data set file or directory cannot be used. The message names the file or
/// directory, the problem and how to fix it, so it can be shown to the user as is.
/// </summary>
public sealed class DatasetException(string message, Exception? inner = null) : Exception(message, inner);
