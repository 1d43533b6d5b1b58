namespace HilBench.Calibration.Tests;
