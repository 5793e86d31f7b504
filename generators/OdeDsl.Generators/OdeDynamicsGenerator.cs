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
                    static (node, _) => node is MethodDeclarationSyntax,
                    static (ctx, _) => DynamicsParser.Parse((MethodDeclarationSyntax)ctx.TargetNode, (IMethodSymbol)ctx.TargetSymbol, ctx.SemanticModel))
                .WithTrackingName(ParseStep);
            Register(context, results);
            Emit.Device.DeviceOutput.Register(context, results);

            var functions = context.SyntaxProvider.ForAttributeWithMetadataName(
                    "OdeDsl.DifferentiableAttribute",
                    static (node, _) => node is MethodDeclarationSyntax,
                    static (ctx, _) => DynamicsParser.Parse((MethodDeclarationSyntax)ctx.TargetNode, (IMethodSymbol)ctx.TargetSymbol, ctx.SemanticModel, isFunction: true))
                .WithTrackingName(FunctionParseStep);
            Register(context, functions);
        }

        private static void Register(IncrementalGeneratorInitializationContext context, IncrementalValuesProvider<Ir.ParseResult> results)
        {
            context.RegisterSourceOutput(results.Select(static (r, _) => r.Diagnostics), static (spc, diagnostics) =>
            {
                foreach (var d in diagnostics) spc.ReportDiagnostic(d.ToDiagnostic());
            });

            context.RegisterSourceOutput(results.Where(static r => r.Spec is not null), static (spc, r) =>
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
