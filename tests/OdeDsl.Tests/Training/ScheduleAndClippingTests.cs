using OdeDsl.Training;

namespace OdeDsl.Tests.Training;

public sealed class ScheduleAndClippingTests
{
    [Fact]
    public void MultiStepDecaysTenfoldAtOdenetMnistMilestones()
    {
        var s = LearningRateSchedule.MultiStep(0.1, [140, 60, 100]);
        Assert.Equal(0.1, s.At(0), 15);
        Assert.Equal(0.1, s.At(59), 15);
        Assert.Equal(0.01, s.At(60), 15);
        Assert.Equal(0.001, s.At(100), 15);
        Assert.Equal(0.0001, s.At(159), 15);
    }

    [Fact]
    public void StepDecayConstantCosineAndWarmup()
    {
        Assert.Equal(0.5, LearningRateSchedule.Constant(0.5).At(1000));
        var step = LearningRateSchedule.StepDecay(1.0, 10, 0.5);
        Assert.Equal(1.0, step.At(9)); Assert.Equal(0.5, step.At(10)); Assert.Equal(0.25, step.At(25));
        var cos = LearningRateSchedule.Cosine(1.0, 100, 0.1);
        Assert.Equal(1.0, cos.At(0), 12);
        Assert.Equal(0.55, cos.At(50), 12);
        Assert.Equal(0.1, cos.At(100), 12);
        Assert.Equal(0.1, cos.At(500), 12);
        var warm = LearningRateSchedule.Warmup(LearningRateSchedule.Constant(1.0), 4);
        Assert.Equal([0.25, 0.5, 0.75, 1.0, 1.0], Enumerable.Range(0, 5).Select(i => warm.At(i)));
        Assert.Throws<ArgumentOutOfRangeException>(() => warm.At(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => LearningRateSchedule.Constant(double.NaN));
    }

    [Fact]
    public void ApplySetsTheOptimisersRate()
    {
        var opt = new Sgd<double>(1, 1.0);
        LearningRateSchedule.MultiStep(1.0, [2]).Apply(opt, 5);
        Assert.Equal(0.1, opt.LearningRate, 15);
    }

    [Fact]
    public void GlobalNormClippingScalesOnlyWhenAboveTheLimit()
    {
        double[] g = [3, 4];
        double norm = GradientClipping.ClipByGlobalNorm<double>(g, 1.0);
        Assert.Equal(5.0, norm);
        double scale = 1.0 / (5.0 + 1e-6); // PyTorch's clip_coef = max_norm / (total_norm + 1e-6)
        Assert.Equal(3 * scale, g[0], 15); Assert.Equal(4 * scale, g[1], 15);
        float[] small = [0.3f, 0.4f];
        Assert.Equal(0.5, GradientClipping.ClipByGlobalNorm<float>(small, 1.0), 6);
        Assert.Equal([0.3f, 0.4f], small);
        Assert.Throws<ArgumentOutOfRangeException>(() => GradientClipping.ClipByGlobalNorm<double>(g, 0));
    }

    [Fact]
    public void ValueClippingClampsEachComponentAndKeepsNaN()
    {
        double[] g = [-5, -0.5, 0.5, 5, double.NaN];
        GradientClipping.ClipByValue<double>(g, 1.0);
        Assert.Equal(-1, g[0]); Assert.Equal(-0.5, g[1]); Assert.Equal(0.5, g[2]); Assert.Equal(1, g[3]);
        Assert.True(double.IsNaN(g[4]));
    }
}
