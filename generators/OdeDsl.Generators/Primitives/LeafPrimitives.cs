using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Primitives
{
    /// <summary>The state h: read from the caller's h span.</summary>
    internal sealed class StatePrimitive : LeafPrimitive { public override OpKind Kind => OpKind.State; }

    /// <summary>The time t: one scalar per row.</summary>
    internal sealed class TimePrimitive : LeafPrimitive { public override OpKind Kind => OpKind.Time; }

    /// <summary>A [Param] argument: a view into θ shared by all rows; its adjoint accumulates into gradTheta.</summary>
    internal sealed class ParamPrimitive : LeafPrimitive { public override OpKind Kind => OpKind.Param; }

    /// <summary>A constant, hoisted into a local of type T; zero tangent, no adjoint.</summary>
    internal sealed class ConstPrimitive : LeafPrimitive { public override OpKind Kind => OpKind.Const; }
}
