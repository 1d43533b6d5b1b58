namespace HilBench.Calibration;

/// <summary>Measured input that cannot be calibrated from; the message names the file (and line or column) and the cause.</summary>
public sealed class CalibrationInputException(string message) : Exception(message);

/// <summary>Measured maps that are consistent but cannot identify the model (one voltage, no faults at all).</summary>
public sealed class CalibrationFitException(string message) : Exception(message);
