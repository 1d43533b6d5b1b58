namespace HilBench.Memory.Profiles;

/// <summary>A device profile that cannot be used; the message names the file, the field and the fix.</summary>
public sealed class ProfileException(string message) : Exception(message);
