using HilBench.Bnn.Data;
using HilBench.Bnn.Model;
using HilBench.Memory;
using HilBench.Memory.Backends;
using HilBench.Memory.Profiles;

namespace HilBench.Cli;

/// <summary>A problem with what the user asked for, reported as one line; the message says what is wrong and what to do.</summary>
public sealed class CliException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Turns expected failures (missing or damaged files, bad specs, kernels the CPU lacks, write errors) into one
/// <c>error: message</c> line and exit code 1. Anything else is a bug and keeps its stack trace.
/// </summary>
public static class CliErrors
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int Usage = 2;

    /// <summary>True for exceptions whose message is meant for the user as is.</summary>
    public static bool IsExpected(Exception e) => e is CliException
        or DatasetException
        or ModelFileException
        or InvalidModelException
        or FormatException
        or PlatformNotSupportedException
        or InvalidDataException // a damaged or foreign training checkpoint
        or ProfileException
        or OperatingPointException
        or MemoryBackendException
        or HilBench.Board.BoardException // a board refused a request or spoke garbage
        or HilBench.Calibration.CalibrationInputException
        or HilBench.Calibration.CalibrationFitException
        or Memory.Geometry.PlacementException
        or UnauthorizedAccessException
        or IOException; // includes FileNotFoundException and DirectoryNotFoundException

    /// <summary>Runs a command body; expected failures become <c>error: message</c> on stderr and exit code 1.</summary>
    public static int Guard(CliContext context, Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (IsExpected(e))
        {
            context.Error.WriteLine($"error: {OneLine(e.Message)}");
            return Failure;
        }
    }

    /// <summary>Error messages go on a single line so scripts can grep them.</summary>
    public static string OneLine(string message) =>
        string.Join(" ", message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
