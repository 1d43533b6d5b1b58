namespace HilBench.Calibration;
