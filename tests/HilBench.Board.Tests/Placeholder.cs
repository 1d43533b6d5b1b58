namespace HilBench.Board.Tests;
