using OdeDsl.Generators.Ir;
using OdeDsl.Generators.Primitives;

namespace OdeDsl.Generators.Tests;

public class PrimitiveTableTests
{
    [Fact]
    public void EveryOpKindHasExactlyOnePrimitive()
    {
        foreach (OpKind kind in Enum.GetValues<OpKind>())
            Assert.Equal(kind, PrimitiveTable.Get(kind).Kind);
        Assert.Equal(Enum.GetValues<OpKind>().Length, PrimitiveTable.Registered.Count());
    }

    [Fact]
    public void ParseModelHoldsNoSymbolsOrSyntax()
    {
        // the cached pipeline model must be pure data: walk the IR record types' properties
        var seen = new HashSet<Type>();
        void Walk(Type t)
        {
            if (!seen.Add(t) || t.IsPrimitive || t == typeof(string) || t.IsEnum) return;
            Assert.False(typeof(Microsoft.CodeAnalysis.ISymbol).IsAssignableFrom(t), t.Name);
            Assert.False(typeof(Microsoft.CodeAnalysis.SyntaxNode).IsAssignableFrom(t), t.Name);
            Assert.NotEqual(typeof(Microsoft.CodeAnalysis.Location), t);
            Assert.NotEqual(typeof(Microsoft.CodeAnalysis.Compilation), t);
            foreach (var g in t.IsGenericType ? t.GetGenericArguments() : []) Walk(g);
            foreach (var p in t.GetProperties(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance))
                if (p.GetIndexParameters().Length == 0) Walk(p.PropertyType);
        }
        Walk(typeof(ParseResult));
    }
}
