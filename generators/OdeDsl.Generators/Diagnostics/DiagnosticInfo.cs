using System;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;
using OdeDsl.Generators.Helpers;

namespace OdeDsl.Generators.Diagnostics
{
    /// <summary>An equatable diagnostic (no Location/SyntaxTree inside) so that it can travel through the cached pipeline.</summary>
    internal sealed record DiagnosticInfo(string Id, string FilePath, int Start, int Length,
        int StartLine, int StartColumn, int EndLine, int EndColumn, EquatableArray<string> Args)
    {
        public static DiagnosticInfo Create(string id, Location? location, params string[] args)
        {
            if (location is null || location.SourceTree is null)
                return new DiagnosticInfo(id, "", 0, 0, 0, 0, 0, 0, EquatableArray.From(args));
            var span = location.GetLineSpan();
            return new DiagnosticInfo(id, span.Path, location.SourceSpan.Start, location.SourceSpan.Length,
                span.StartLinePosition.Line, span.StartLinePosition.Character,
                span.EndLinePosition.Line, span.EndLinePosition.Character, EquatableArray.From(args));
        }

        public Diagnostic ToDiagnostic()
        {
            var location = FilePath.Length == 0
                ? Location.None
                : Location.Create(FilePath, new TextSpan(Start, Length),
                    new LinePositionSpan(new LinePosition(StartLine, StartColumn), new LinePosition(EndLine, EndColumn)));
            return Diagnostic.Create(DiagnosticDescriptors.ById(Id), location, Args.Cast<object>().ToArray());
        }
    }
}
