namespace HilBench.Bnn.Model;

/// <summary>
/// A <c>.hbnn</c> model file could not be read: it is missing, empty, not a HilBench model, written by an
/// unsupported format version, truncated, corrupt or inconsistent. The message names the file, the problem
/// and what to do about it.
/// </summary>
public sealed class ModelFileException : Exception
{
    public ModelFileException(string message, Exception? inner = null) : base(message, inner) { }
}
