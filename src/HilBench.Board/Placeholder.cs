namespace HilBench.Board;
