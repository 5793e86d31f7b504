using OdeDsl.Training;

namespace OdeDsl.Tests.Training;

/// <summary>
/// First two steps of each optimiser from θ = [1, −2] with gradients [0.5, −1] then [0.25, 3], against values computed
/// independently (Python, double) from torch.optim's documented update rules.
/// </summary>
public sealed class OptimizerTests
{
    private static readonly double[][] Gradients = [[0.5, -1], [0.25, 3]];

    private static void AssertSteps(Optimizer<double> opt, double[][] expected)
    {
        double[] p = [1, -2];
        for (int s = 0; s < expected.Length; s++)
        {
            opt.Step(p, Gradients[s]);
            for (int i = 0; i < p.Length; i++)
                Assert.Equal(expected[s][i], p[i], 1e-12);
        }
        Assert.Equal(expected.Length, opt.Steps);
    }

    [Fact] public void AdamMatchesPyTorch() =>
        AssertSteps(new Adam<double>(2, 0.1), [[0.900000002, -1.900000001], [0.8067820404774624, -1.9494189841087441]]);

    [Fact] public void AdamL2WeightDecayMatchesPyTorchAdam() =>
        AssertSteps(new Adam<double>(2, 0.1, weightDecay: 0.1), [[0.9000000016666666, -1.9000000008333333], [0.8050097658613199, -1.9421356457177317]]);

    [Fact] public void AdamDecoupledWeightDecayMatchesAdamW() =>
        AssertSteps(new Adam<double>(2, 0.1, weightDecay: 0.1, decay: AdamWeightDecay.Decoupled),
            [[0.890000002, -1.880000001], [0.7878820404574624, -1.9106189840987442]]);

    [Fact] public void RmsPropMatchesPyTorch() =>
        AssertSteps(new RmsProp<double>(2, 1e-3), [[0.9900000019999996, -1.9900000009999999], [0.9855098702557817, -1.9994915806572247]]);

    [Fact] public void RmsPropWithMomentumMatchesPyTorch() =>
        AssertSteps(new RmsProp<double>(2, 1e-3, momentum: 0.9), [[0.9900000019999996, -1.9900000009999999], [0.9765098720557813, -1.9904915815572244]]);

    [Fact] public void CenteredRmsPropMatchesPyTorch() =>
        AssertSteps(new RmsProp<double>(2, 1e-2, centered: true), [[0.899496238676095, -1.8994962285750878], [0.8541874846842108, -1.9946045358255786]]);

    [Fact] public void SgdMomentumMatchesPyTorch() =>
        AssertSteps(new Sgd<double>(2, 0.1, momentum: 0.9), [[0.95, -1.9], [0.88, -2.11]]);

    [Fact] public void SgdNesterovWithWeightDecayMatchesPyTorch() =>
        AssertSteps(new Sgd<double>(2, 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01), [[0.9031, -1.8062], [0.81257411, -2.29014822]]);

    [Fact] public void PlainSgdIsGradientDescent() =>
        AssertSteps(new Sgd<double>(2, 0.5), [[0.75, -1.5], [0.625, -3.0]]);

    public static TheoryData<string> Kinds => ["adam", "rmsprop", "sgd", "nesterov"];

    /// <summary>Every optimiser minimises an ill-conditioned quadratic ½Σ cᵢ(θᵢ − 1)² in float32 from θ = 0.</summary>
    [Theory, MemberData(nameof(Kinds))]
    public void ConvergesOnAQuadratic(string kind)
    {
        float[] c = [1f, 4f, 10f];
        Optimizer<float> opt = kind switch
        {
            "adam" => new Adam<float>(3, 0.05),
            "rmsprop" => new RmsProp<float>(3, 0.01, centered: true),
            "sgd" => new Sgd<float>(3, 0.05, momentum: 0.9),
            _ => new Sgd<float>(3, 0.05, momentum: 0.9, nesterov: true),
        };
        var p = new float[3];
        var g = new float[3];
        var schedule = LearningRateSchedule.StepDecay(opt.LearningRate, 400, 0.3);
        for (int step = 0; step < 2000; step++)
        {
            for (int i = 0; i < 3; i++) g[i] = c[i] * (p[i] - 1f);
            schedule.Apply(opt, step);
            opt.Step(p, g);
        }
        foreach (float v in p) Assert.InRange(v, 0.99f, 1.01f);
    }

    [Fact]
    public void StepsAllocateNothing()
    {
        Optimizer<float>[] all =
        [
            new Adam<float>(64, decay: AdamWeightDecay.Decoupled, weightDecay: 0.01), new RmsProp<float>(64, momentum: 0.9, centered: true),
            new Sgd<float>(64, 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-4),
        ];
        var p = new float[64];
        var g = new float[64];
        g.AsSpan().Fill(0.5f);
        AllocationAssert.NoneWithin(() =>
        {
            for (int i = 0; i < 10; i++)
                foreach (var opt in all) opt.Step(p, g);
        });
    }

    [Fact]
    public void StepValidatesLengthsAndHyperparameters()
    {
        var opt = new Adam<double>(3);
        Assert.Throws<ArgumentException>(() => opt.Step(new double[2], new double[3]));
        Assert.Throws<ArgumentException>(() => opt.Step(new double[3], new double[4]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam<double>(3, beta1: 1.0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RmsProp<double>(3, learningRate: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd<double>(3, 0.1, weightDecay: double.NaN));
        Assert.Throws<ArgumentException>(() => new Sgd<double>(3, 0.1, nesterov: true));
        Assert.Throws<ArgumentOutOfRangeException>(() => opt.LearningRate = double.PositiveInfinity);
    }
}
