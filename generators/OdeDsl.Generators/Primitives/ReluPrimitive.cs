using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Primitives
{
    /// <summary>Relu: y = (X > T.Zero ? X : T.Zero), dy/dx = (X > T.Zero ? T.One : T.Zero).</summary>
    internal sealed class ReluPrimitive : UnaryElementwise
    {
        public override OpKind Kind => OpKind.Relu;
        protected override string Forward(string x, Node n) => $"({x} > T.Zero ? {x} : T.Zero)";
        protected override string Derivative(string x, string y, Node n) => $"({x} > T.Zero ? T.One : T.Zero)";
        protected override string? ForwardKernel(string x, string y, Node n) => $"{Tensors}Activations.Relu<T>({x}, {y});";
        protected override string? JvpKernel(string x, string y, string dx, string dy, Node n) => $"{Tensors}Activations.ReluBackward<T>({x}, {dx}, {dy});";
        protected override string? VjpKernel(string x, string y, string g, string ax, Node n) => $"{Tensors}Activations.ReluBackwardAdd<T>({x}, {g}, {ax});";
        protected override string? VjpWriteKernel(string x, string y, string g, string ax, Node n) => $"{Tensors}Activations.ReluBackward<T>({x}, {g}, {ax});";
    }
}
