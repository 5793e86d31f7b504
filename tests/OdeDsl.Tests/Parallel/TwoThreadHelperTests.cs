using System.Runtime.InteropServices;
using OdeDsl.Bench.Commands;

namespace OdeDsl.Tests.Parallel;

/// <summary>
/// The two-thread hand-off through <see cref="TwoThreadHelper"/>: the same bits as through the thread pool and on one
/// thread, the helper's chunk actually run on the helper (also after it has gone to sleep), its exceptions thrown on the
/// caller, a caller that throws still waiting for the helper's chunk, and runs from several threads at once (the helper
/// busy, nested runs) neither deadlocking nor mixing up their chunks.
/// </summary>
public class TwoThreadHelperTests
{
    private const string HelperName = "OdeDsl two-thread helper";

    /// <summary>A body of <paramref name="count"/> chunks; the caller's chunks wait (bounded) until the other thread has one.</summary>
    private sealed class Probe(int count, Action<int, int>? work = null) : IChunkBody
    {
        public readonly string?[] ThreadName = new string?[count];
        public readonly bool[] OnPool = new bool[count];
        public readonly int[] Worker = new int[count];
        private int _otherStarted;

        public void RunChunk(int chunk, int worker)
        {
            ThreadName[chunk] = Thread.CurrentThread.Name;
            OnPool[chunk] = Thread.CurrentThread.IsThreadPoolThread;
            Worker[chunk] = worker;
            if (worker == 1) Volatile.Write(ref _otherStarted, 1);
            else SpinWait.SpinUntil(() => Volatile.Read(ref _otherStarted) == 1, 200);
            work?.Invoke(chunk, worker);
        }

        public bool OtherTookPart => Worker.Contains(1);
    }

    /// <summary>
    /// Runs fresh probes until the other thread took part, and was the helper if <paramref name="onHelper"/> (tests in other
    /// classes run beside these: while one of their runs holds the helper, ours goes to the pool).
    /// </summary>
    private static Probe RunUntilShared(Func<Probe> make, bool onHelper, int attempts = 200)
    {
        var loop = new TwoThreadLoop();
        for (int i = 0; i < attempts; i++)
        {
            var probe = make();
            loop.Run(probe, 2);
            if (probe.OtherTookPart && (!onHelper || probe.ThreadName[Array.IndexOf(probe.Worker, 1)] == HelperName)) return probe;
        }
        throw new Xunit.Sdk.XunitException(onHelper ? "the helper never took a chunk" : "the other thread never took a chunk");
    }

    private static void WithSwitches(bool enabled, bool useHelper, Action body)
    {
        var (e, h) = (TwoThreadLoop.Enabled, TwoThreadLoop.UseHelper);
        try
        {
            (TwoThreadLoop.Enabled, TwoThreadLoop.UseHelper) = (enabled, useHelper);
            body();
        }
        finally { (TwoThreadLoop.Enabled, TwoThreadLoop.UseHelper) = (e, h); }
    }

    [Theory]
    [InlineData("mlp", "backprop")]
    [InlineData("mlp", "adjoint")]
    [InlineData("hyper", "backprop")]
    public void BenchStepHasTheSameBitsThroughHelperPoolAndOneThread(string model, string mode)
    {
        var problem = CnfStepProblem.Load(Path.Combine(AppContext.BaseDirectory, "Data", CnfStepProblem.FileName));
        (double Loss, long Forward, long Backward, float[] Gradient) Step(bool enabled, bool useHelper)
        {
            (double, long, long, float[]) result = default;
            WithSwitches(enabled, useHelper, () => result = CnfStepProblem.Step<float>(problem, model, mode));
            return result;
        }
        var helper = Step(true, true);
        var again = Step(true, true);   // a second step finds the workspaces and kept entries the first left
        var pool = Step(true, false);
        var alone = Step(false, false);
        foreach (var other in new[] { again, pool, alone })
        {
            Assert.Equal(helper.Loss, other.Loss);
            Assert.Equal((helper.Forward, helper.Backward), (other.Forward, other.Backward));
            Assert.True(MemoryMarshal.AsBytes(helper.Gradient.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(other.Gradient.AsSpan())),
                "the θ-gradient's bits differ between the hand-offs");
        }
    }

    [Fact]
    public void TheSecondChunkRunsOnTheHelperAlsoAfterItSlept()
    {
        WithSwitches(true, true, () =>
        {
            RunUntilShared(() => new Probe(2), onHelper: true);
            Thread.Sleep(50);   // far past the helper's spin: it blocks, and the next post must wake it
            RunUntilShared(() => new Probe(2), onHelper: true);
        });
        WithSwitches(true, false, () =>
        {
            var probe = RunUntilShared(() => new Probe(2), onHelper: false);
            Assert.True(probe.OnPool[Array.IndexOf(probe.Worker, 1)]);
        });
    }

    [Fact]
    public void AnExceptionOnTheHelperIsThrownOnTheCallerAndTheHelperCarriesOn()
    {
        WithSwitches(true, true, () =>
        {
            var loop = new TwoThreadLoop();
            bool thrown = false;
            for (int i = 0; i < 200 && !thrown; i++)
            {
                var probe = new Probe(2, (_, worker) => { if (worker == 1) throw new InvalidOperationException("boom on the helper"); });
                try { loop.Run(probe, 2); }
                catch (InvalidOperationException e) when (e.Message == "boom on the helper")
                {
                    Assert.Equal(HelperName, probe.ThreadName[Array.IndexOf(probe.Worker, 1)]);
                    thrown = true;
                }
            }
            Assert.True(thrown, "the helper never took the throwing chunk");
            RunUntilShared(() => new Probe(2), onHelper: true);   // the helper thread survived the exception
        });
    }

    [Fact]
    public void ACallerThatThrowsStillWaitsForTheOtherChunk()
    {
        WithSwitches(true, true, () =>
        {
            var loop = new TwoThreadLoop();
            for (int i = 0; i < 200; i++)
            {
                int otherDone = 0;
                var probe = new Probe(2, (_, worker) =>
                {
                    if (worker == 0) throw new InvalidOperationException("boom on the caller");
                    Thread.Sleep(20);
                    Volatile.Write(ref otherDone, 1);
                });
                Assert.Throws<InvalidOperationException>(() => loop.Run(probe, 2));
                if (!probe.OtherTookPart) continue;
                Assert.Equal(1, Volatile.Read(ref otherDone));   // Run returned only after the helper's chunk ended
                return;
            }
            throw new Xunit.Sdk.XunitException("the other thread never took a chunk");
        });
    }

    [Fact]
    public void ABusyHelperLeavesTheNextRunToThePool()
    {
        WithSwitches(true, true, () =>
        {
            using var held = new ManualResetEventSlim(false);
            using var release = new ManualResetEventSlim(false);
            var holder = new Thread(() =>
            {
                var loop = new TwoThreadLoop();
                while (!held.IsSet)   // until its second chunk has held the helper
                    loop.Run(new Probe(2, (_, worker) =>
                    {
                        if (worker != 1 || Thread.CurrentThread.Name != HelperName) return;
                        held.Set();
                        release.Wait(TimeSpan.FromSeconds(30));
                    }), 2);
            });
            holder.Start();
            Assert.True(held.Wait(TimeSpan.FromSeconds(30)), "the helper never took the holding chunk");
            // the helper is busy: another thread's runs still complete, the pool's thread or the caller taking the chunk
            var loop = new TwoThreadLoop();
            for (int i = 0; i < 20; i++)
            {
                var sums = new long[2];
                var probe = new Probe(2, (chunk, _) => sums[chunk] = chunk + 1);
                loop.Run(probe, 2);
                Assert.Equal([1L, 2L], sums);
                Assert.DoesNotContain(HelperName, probe.ThreadName);
            }
            release.Set();
            Assert.True(holder.Join(TimeSpan.FromSeconds(30)), "the run holding the helper did not finish");
        });
    }

    [Fact]
    public void ManyThreadsAtOnceWithNestedRunsNeitherDeadlockNorMixChunks()
    {
        WithSwitches(true, true, () =>
        {
            const int threads = 4, runs = 200, chunks = 6;
            var failures = new List<string>();
            var tasks = Enumerable.Range(0, threads).Select(id => Task.Factory.StartNew(() =>
            {
                var outer = new TwoThreadLoop();
                var inner = new TwoThreadLoop[chunks];
                for (int c = 0; c < chunks; c++) inner[c] = new TwoThreadLoop();
                for (int r = 0; r < runs; r++)
                {
                    var result = new long[chunks];
                    var body = new Sum(result, id, r, inner);
                    outer.Run(body, chunks);
                    for (int c = 0; c < chunks; c++)
                        if (result[c] != Sum.Expected(id, r, c))
                            lock (failures) failures.Add($"thread {id}, run {r}, chunk {c}: {result[c]}");
                }
            }, TaskCreationOptions.LongRunning)).ToArray();
            Assert.True(Task.WaitAll(tasks, TimeSpan.FromSeconds(60)), "runs from several threads did not finish: deadlock");
            Assert.Empty(failures);
        });
    }

    /// <summary>Chunk c of run r on thread id: two nested runs (on whichever thread holds the chunk) add up its value.</summary>
    private sealed class Sum(long[] result, int id, int run, TwoThreadLoop[] inner) : IChunkBody
    {
        public static long Expected(int id, int run, int chunk) => 1000L * id + 10L * run + chunk + 6;

        public void RunChunk(int chunk, int worker)
        {
            var parts = new long[3];
            inner[chunk].Run(new Parts(parts), 3);   // each part writes 1 + its index: 1 + 2 + 3 = 6
            result[chunk] = 1000L * id + 10L * run + chunk + parts.Sum();
        }
    }

    private sealed class Parts(long[] parts) : IChunkBody
    {
        public void RunChunk(int chunk, int worker) => parts[chunk] = chunk + 1;
    }
}
