namespace OdeDsl.Flows;

/// <summary>torchdiffeq examples/cnf.py's field: CNF(in_out_dim 2, hidden_dim 32, width 64), 15,904 parameters.</summary>
public struct CnfPyHyperSpec : IHyperPlanarSpec
{
    public static int Dimension => 2;
    public static int HyperHidden => 32;
    public static int Width => 64;
}

/// <summary>A plain 3 → 64 tanh → 64 tanh → 2 field on [z, t] (the reference data's "mlp" model), 4,546 parameters.</summary>
public struct CnfPyMlpSpec : IMlpFieldSpec
{
    public static int Dimension => 2;
    public static int[] Hidden => [64, 64];
    public static TimeInput Time => TimeInput.ConcatInput;
}

/// <summary>FFJORD train_toy.py's field: concatsquash 2 → 64 → 64 → 64 → 2, tanh.</summary>
public struct FfjordToySpec : IMlpFieldSpec
{
    public static int Dimension => 2;
    public static int[] Hidden => [64, 64, 64];
    public static TimeInput Time => TimeInput.ConcatSquash;
}
