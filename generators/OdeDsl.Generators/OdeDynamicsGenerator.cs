using System;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;
using OdeDsl.Generators.Diagnostics;
using OdeDsl.Generators.Emit;
using OdeDsl.Generators.Parsing;

namespace OdeDsl.Generators
{
    /// <summary>
    /// The pipeline only: [OdeDynamics] methods → equatable <see cref="Ir.ParseResult"/> (IR + diagnostics) →
    /// diagnostics reported in one output, C# emitted in another. Nothing throws into Roslyn: failures become ODE0008.
    /// A referenced OdeDsl runtime of another version than the generator gives ODE0009 and no generated code.
    /// </summary>
    [Generator(LanguageNames.CSharp)]
    public sealed class OdeDynamicsGenerator : IIncrementalGenerator
    {
        public const string ParseStep = "OdeDsl.Parse";
        public const string FunctionParseStep = "OdeDsl.ParseDifferentiable";

        public void Initialize(IncrementalGeneratorInitializationContext context)
        {
            var results = context.SyntaxProvider.ForAttributeWithMetadataName(
                    "OdeDsl.OdeDynamicsAttribute",
                    static (node, _) => IsMethodLike(node),
                    static (ctx, _) => ctx.TargetNode is MethodDeclarationSyntax method
                        ? DynamicsParser.Parse(method, (IMethodSymbol)ctx.TargetSymbol, ctx.SemanticModel)
                        : DynamicsParser.NotAMethod(ctx.TargetNode, "OdeDynamics"))
                .WithTrackingName(ParseStep);

            var functions = context.SyntaxProvider.ForAttributeWithMetadataName(
                    "OdeDsl.DifferentiableAttribute",
                    static (node, _) => IsMethodLike(node),
                    static (ctx, _) => ctx.TargetNode is MethodDeclarationSyntax method
                        ? DynamicsParser.Parse(method, (IMethodSymbol)ctx.TargetSymbol, ctx.SemanticModel, isFunction: true)
                        : DynamicsParser.NotAMethod(ctx.TargetNode, "Differentiable"))
                .WithTrackingName(FunctionParseStep);

            // a runtime of another version than this generator: one ODE0009 instead of errors inside generated code
            var mismatch = context.CompilationProvider.Select(static (c, _) => RuntimeVersionCheck.Mismatch(c));
            var anyMethod = results.Collect().Combine(functions.Collect()).Select(static (p, _) => p.Left.Length + p.Right.Length > 0);
            context.RegisterSourceOutput(mismatch.Combine(anyMethod), static (spc, p) =>
            {
                if (p.Left is not null && p.Right)
                    spc.ReportDiagnostic(DiagnosticInfo.Create("ODE0009", null, RuntimeVersionCheck.GeneratorVersion, p.Left).ToDiagnostic());
            });

            Register(context, results, mismatch);
            Register(context, functions, mismatch);
            // device (ILGPU) code only where the CPU code is generated too (no version mismatch)
            Emit.Device.DeviceOutput.Register(context, results.Combine(mismatch).Where(static p => p.Right is null).Select(static (p, _) => p.Left));
        }

        /// <summary>Methods, and the local functions and lambdas the attribute also fits on (those get ODE0007).</summary>
        private static bool IsMethodLike(SyntaxNode node) =>
            node is MethodDeclarationSyntax or LocalFunctionStatementSyntax or AnonymousFunctionExpressionSyntax;

        private static void Register(IncrementalGeneratorInitializationContext context, IncrementalValuesProvider<Ir.ParseResult> results,
            IncrementalValueProvider<string?> mismatch)
        {
            var matching = results.Combine(mismatch).Where(static p => p.Right is null).Select(static (p, _) => p.Left);
            context.RegisterSourceOutput(matching.Select(static (r, _) => r.Diagnostics), static (spc, diagnostics) =>
            {
                foreach (var d in diagnostics) spc.ReportDiagnostic(d.ToDiagnostic());
            });

            context.RegisterSourceOutput(matching.Where(static r => r.Spec is not null), static (spc, r) =>
            {
                string text;
                try
                {
                    text = CSharpEmitter.Emit(r.Spec!);
                }
                catch (Exception e)
                {
                    spc.ReportDiagnostic(DiagnosticInfo.Create("ODE0008", null, r.Spec!.MethodName, e.GetType().Name + ": " + e.Message).ToDiagnostic());
                    return;
                }
                spc.AddSource(r.HintName, SourceText.From(text, Encoding.UTF8));
            });
        }
    }
}
