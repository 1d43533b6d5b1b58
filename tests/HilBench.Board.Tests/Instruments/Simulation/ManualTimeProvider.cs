namespace HilBench.Board.Tests.Instruments.Simulation;

/// <summary>A clock that only moves when told to, so sampling loops and settle waits are deterministic.</summary>
/// <remarks>
/// With <see cref="AutoAdvance"/> set, a timer jumps the clock to its own due time (on the thread pool,
/// as a real timer would fire), which lets blocking sleeps in code under test complete instantly.
/// </remarks>
internal sealed class ManualTimeProvider : TimeProvider
{
    private readonly object _gate = new();
    private readonly List<ManualTimer> _timers = [];
    private long _ticks;

    public static readonly DateTimeOffset Epoch = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public bool AutoAdvance { get; set; }

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp()
    {
        lock (_gate)
        {
            return _ticks;
        }
    }

    public override DateTimeOffset GetUtcNow() => Epoch + Now;

    public TimeSpan Now => TimeSpan.FromTicks(GetTimestamp());

    public int ActiveTimers
    {
        get
        {
            lock (_gate)
            {
                return _timers.Count(t => t.DueTicks is not null);
            }
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(this, callback, state);
        lock (_gate)
        {
            _timers.Add(timer);
        }

        timer.Change(dueTime, period);
        return timer;
    }

    public void Advance(TimeSpan by)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(by, TimeSpan.Zero);
        AdvanceTo(GetTimestamp() + by.Ticks);
    }

    /// <summary>Blocks (in real time, bounded) until at least <paramref name="count"/> timers are armed.</summary>
    public void WaitForTimers(int count = 1)
    {
        if (!SpinWait.SpinUntil(() => ActiveTimers >= count, TimeSpan.FromSeconds(10)))
        {
            throw new TimeoutException($"expected {count} armed timer(s), found {ActiveTimers}");
        }
    }

    private void AdvanceTo(long target)
    {
        lock (_gate)
        {
            _ticks = Math.Max(_ticks, target);
        }

        // Callbacks run outside the lock because they may arm new timers.
        while (true)
        {
            ManualTimer? due;
            lock (_gate)
            {
                due = _timers.Where(t => t.DueTicks <= _ticks).MinBy(t => t.DueTicks);
                if (due is null)
                {
                    return;
                }

                due.DueTicks = due.PeriodTicks is { } p ? due.DueTicks + p : null;
            }

            due.Fire();
        }
    }

    private void Arm(ManualTimer timer, TimeSpan dueTime, TimeSpan period)
    {
        long? due = null;
        lock (_gate)
        {
            if (dueTime != Timeout.InfiniteTimeSpan)
            {
                due = _ticks + Math.Max(0, dueTime.Ticks);
            }

            timer.DueTicks = due;
            timer.PeriodTicks = period == Timeout.InfiniteTimeSpan || period <= TimeSpan.Zero ? null : period.Ticks;
        }

        if (due is { } d && AutoAdvance)
        {
            ThreadPool.UnsafeQueueUserWorkItem(_ => AdvanceTo(d), null);
        }
    }

    private void Remove(ManualTimer timer)
    {
        lock (_gate)
        {
            _timers.Remove(timer);
        }
    }

    private sealed class ManualTimer(ManualTimeProvider owner, TimerCallback callback, object? state) : ITimer
    {
        public long? DueTicks { get; set; }

        public long? PeriodTicks { get; set; }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            owner.Arm(this, dueTime, period);
            return true;
        }

        public void Fire() => callback(state);

        public void Dispose() => owner.Remove(this);

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
