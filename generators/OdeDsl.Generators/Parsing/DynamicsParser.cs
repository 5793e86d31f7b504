using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using OdeDsl.Generators.Diagnostics;
using OdeDsl.Generators.Helpers;
using OdeDsl.Generators.Ir;
using OdeDsl.Generators.Primitives;

namespace OdeDsl.Generators.Parsing
{
    /// <summary>
    /// Turns an [OdeDynamics] method (syntax + semantic model) into the SSA graph. Stops at the first error with a
    /// <see cref="DslException"/> carrying the diagnostic; the caller converts it, nothing escapes to Roslyn.
    /// </summary>
    internal sealed class DynamicsParser
    {
        private readonly SemanticModel _model;
        private readonly GraphBuilder _g = new();
        private readonly Dictionary<string, int> _env = new();
        private readonly HashSet<string> _paramNames = new();

        private readonly bool _isFunction;

        private DynamicsParser(SemanticModel model, bool isFunction)
        {
            _model = model;
            _isFunction = isFunction;
        }

        /// <summary>Parses an [OdeDynamics] method, or with <paramref name="isFunction"/> a [Differentiable] one (no time, any output shape).</summary>
        public static ParseResult Parse(MethodDeclarationSyntax method, IMethodSymbol symbol, SemanticModel model, bool isFunction = false)
        {
            string hint = HintName(symbol).Replace(".OdeDsl.g.cs", isFunction ? ".Differentiable.OdeDsl.g.cs" : ".OdeDsl.g.cs");
            try
            {
                var p = new DynamicsParser(model, isFunction);
                var spec = p.Run(method, symbol);
                return new ParseResult(spec, EquatableArray<DiagnosticInfo>.Empty, hint);
            }
            catch (DslException e)
            {
                return new ParseResult(null, EquatableArray.Of(e.Info), hint);
            }
            catch (Exception e)
            {
                var info = DiagnosticInfo.Create("ODE0008", method.Identifier.GetLocation(), symbol.Name, e.GetType().Name + ": " + e.Message);
                return new ParseResult(null, EquatableArray.Of(info), hint);
            }
        }

        /// <summary>
        /// [OdeDynamics]/[Differentiable] on a local function or a lambda (the attribute's Method target allows both):
        /// nothing can be generated for them, so say so instead of ignoring the attribute.
        /// </summary>
        public static ParseResult NotAMethod(SyntaxNode node, string attribute)
        {
            var (what, at) = node switch
            {
                LocalFunctionStatementSyntax f => ($"the local function '{f.Identifier.Text}'", f.Identifier.GetLocation()),
                _ => ($"a lambda '{Short(node)}'", node.GetLocation()),
            };
            var info = DiagnosticInfo.Create("ODE0007", at,
                $"[{attribute}] on {what}; declare it as a static method of a partial type");
            return new ParseResult(null, EquatableArray.Of(info), "");
        }

        private static string HintName(IMethodSymbol symbol)
        {
            var type = symbol.ContainingType;
            string name = type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat).Replace("global::", "");
            foreach (char ch in new[] { '<', '>', ',', ' ' }) name = name.Replace(ch, '_');
            return $"{name}.{symbol.Name}.OdeDsl.g.cs";
        }

        private static DslException Error(string id, SyntaxNode? at, params string[] args) =>
            new(DiagnosticInfo.Create(id, at?.GetLocation(), args));

        private DynamicsSpec Run(MethodDeclarationSyntax method, IMethodSymbol symbol)
        {
            // containing types: all partial, none generic
            var levels = new List<TypeLevel>();
            for (var type = symbol.ContainingType; type is not null; type = type.ContainingType)
            {
                var decl = type.DeclaringSyntaxReferences.Select(r => r.GetSyntax()).OfType<TypeDeclarationSyntax>().FirstOrDefault();
                if (decl is null || !decl.Modifiers.Any(SyntaxKind.PartialKeyword))
                    throw Error("ODE0001", method.Identifier.Parent is null ? method : (SyntaxNode?)decl ?? method, type.Name, symbol.Name);
                if (type.IsGenericType) throw Error("ODE0002", decl.Identifier.Parent, $"generic containing type '{type.Name}'");
                string keyword = decl switch
                {
                    RecordDeclarationSyntax r => r.ClassOrStructKeyword.IsKind(SyntaxKind.StructKeyword) ? "record struct" : "record",
                    StructDeclarationSyntax => "struct",
                    InterfaceDeclarationSyntax => "interface",
                    _ => "class",
                };
                levels.Insert(0, new TypeLevel(keyword, type.Name, type.IsStatic));
            }
            if (!symbol.IsStatic) throw Error("ODE0007", method.Identifier.Parent, $"'{symbol.Name}' must be static");
            if (symbol.IsGenericMethod) throw Error("ODE0007", method.TypeParameterList, $"'{symbol.Name}' must not be generic");
            CheckMethodShape(method, symbol);

            int[]? stateShape = null;
            var parameters = new List<ParamSpec>();
            int offset = 0;
            bool sawTime = false;
            foreach (var (ps, syntax) in symbol.Parameters.Zip(method.ParameterList.Parameters, (a, b) => (a, b)))
            {
                CheckParameterSyntax(syntax, ps);
                var shapeAttr = ps.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == "OdeDsl.ShapeAttribute");
                var paramAttr = ps.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == "OdeDsl.ParamAttribute");
                string typeName = ps.Type.ToDisplayString();
                if (paramAttr is not null)
                {
                    var dims = Dims(paramAttr, syntax);
                    CheckRank(typeName, dims, syntax);
                    string kind = "Default";
                    double scale = 0;
                    foreach (var na in paramAttr.NamedArguments)
                    {
                        if (na.Key == "Init" && na.Value.Value is int k) kind = new[] { "Default", "Zeros", "Ones", "Uniform", "Normal" }[k];
                        if (na.Key == "Scale" && na.Value.Value is double s) scale = s;
                    }
                    var spec = new ParamSpec(ps.Name, EquatableArray.From(dims), offset, kind, scale);
                    _env[ps.Name] = _g.Leaf(OpKind.Param, dims, new[] { parameters.Count }, ps.Name);
                    _paramNames.Add(ps.Name);
                    parameters.Add(spec);
                    offset += spec.Length;
                }
                else if (typeName is "float" or "double" && stateShape is not null && !sawTime)
                {
                    if (_isFunction) throw Error("ODE0007", syntax, $"a [Differentiable] function takes no time argument ('{ps.Name}')");
                    sawTime = true;
                    _env[ps.Name] = _g.Leaf(OpKind.Time, new int[0], new int[0], ps.Name);
                }
                else if (stateShape is null)
                {
                    if (shapeAttr is null) throw Error("ODE0004", syntax, ps.Name);
                    stateShape = Dims(shapeAttr, syntax);
                    CheckRank(typeName, stateShape, syntax);
                    _env[ps.Name] = _g.Leaf(OpKind.State, stateShape, new int[0], ps.Name);
                }
                else throw Error("ODE0007", syntax, $"parameter '{ps.Name}' of type '{typeName}' is neither the state, the time nor a [Param]");
            }
            if (stateShape is null) throw Error("ODE0004", method.ParameterList, "(none)");

            int output = Body(method);
            var outNode = _g[output];
            if (!_isFunction && !outNode.Shape.SequenceEqual(stateShape) && !(outNode.Size == stateShape.Aggregate(1, (a, b) => a * b) && stateShape.Length == 1 && outNode.Shape.Count == 1))
                throw Error("ODE0005", _returnSyntax ?? method, Primitive.ShapeText(outNode), Primitive.ShapeText(stateShape));

            var nodes = _g.Nodes.ToArray();
            var inits = parameters.Select((p, i) => p.InitKind == "Default" ? DefaultInit(p, i, nodes) : p).ToArray();

            int dynamicsCount = symbol.ContainingType.GetMembers().OfType<IMethodSymbol>()
                .Count(m => m.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == "OdeDsl.OdeDynamicsAttribute"));
            string ns = symbol.ContainingNamespace.IsGlobalNamespace ? "" : symbol.ContainingNamespace.ToDisplayString();
            if (_isFunction)
                return new DynamicsSpec(ns, EquatableArray.From(levels), symbol.Name, symbol.Name + "Function", false,
                    EquatableArray.From(stateShape), EquatableArray.From(inits), EquatableArray.From(nodes), output, IsFunction: true);
            return new DynamicsSpec(ns, EquatableArray.From(levels), symbol.Name,
                dynamicsCount == 1 ? "Dynamics" : symbol.Name + "Dynamics", dynamicsCount == 1,
                EquatableArray.From(stateShape), EquatableArray.From(inits), EquatableArray.From(nodes), output);
        }

        /// <summary>
        /// PyTorch's defaults: a matrix W[out, in] gets U(±1/√in) (nn.Linear), a [out, in, kh, kw] kernel U(±1/√(in·kh·kw))
        /// (nn.Conv2d), a vector added to W·x gets the bias rule of that W; any other parameter U(±1/√length).
        /// </summary>
        private static ParamSpec DefaultInit(ParamSpec p, int index, Node[] nodes)
        {
            if (p.Shape.Count == 2) return p with { InitKind = "FanIn", Scale = p.Shape[1] };
            if (p.Shape.Count == 4) return p with { InitKind = "FanIn", Scale = p.Shape[1] * p.Shape[2] * p.Shape[3] };
            int paramNode = Array.FindIndex(nodes, n => n.Op == OpKind.Param && n.Ints[0] == index);
            foreach (var use in nodes.Where(n => n.Args.Contains(paramNode)))
            {
                if (use.Op == OpKind.GroupNorm && use.Args[1] == paramNode) return p with { InitKind = "Ones", Scale = 0 };
                if (use.Op == OpKind.GroupNorm && use.Args[2] == paramNode) return p with { InitKind = "Zeros", Scale = 0 };
                if (use.Op == OpKind.Conv2d && use.Args[2] == paramNode) return p with { InitKind = "FanIn", Scale = use.Value };
            }
            foreach (var add in nodes.Where(n => n.Op == OpKind.Add && n.Args.Contains(paramNode)))
            {
                var other = nodes[add.Args[0] == paramNode ? add.Args[1] : add.Args[0]];
                if (other.Op == OpKind.MatVec)
                {
                    var w = nodes[other.Args[0]];
                    return p with { InitKind = "FanIn", Scale = other.Ints[0] == 1 ? w.Shape[0] : w.Shape[1] };
                }
            }
            return p with { InitKind = "FanIn", Scale = p.Length };
        }

        /// <summary>
        /// Modifiers and return forms the generated code cannot honour: it evaluates a pure function of values, so an
        /// async, unsafe, extern or by-ref method, or a return type other than a DSL value, is rejected by name.
        /// </summary>
        private static void CheckMethodShape(MethodDeclarationSyntax method, IMethodSymbol symbol)
        {
            foreach (var modifier in method.Modifiers)
                if (modifier.IsKind(SyntaxKind.AsyncKeyword) || modifier.IsKind(SyntaxKind.UnsafeKeyword) || modifier.IsKind(SyntaxKind.ExternKeyword))
                    throw new DslException(DiagnosticInfo.Create("ODE0007", modifier.GetLocation(),
                        $"the '{modifier.Text}' modifier on '{symbol.Name}' (dynamics are plain static methods)"));
            if (symbol.ReturnsByRef || symbol.ReturnsByRefReadonly)
                throw Error("ODE0007", method.ReturnType, $"'{symbol.Name}' returns by reference ('{method.ReturnType}'); return the value");
            if (!IsValueType(symbol.ReturnType))
                throw Error("ODE0007", method.ReturnType, $"the return type '{symbol.ReturnType.ToDisplayString()}' of '{symbol.Name}' is not Vec, Mat, Tensor, float or double");
        }

        /// <summary>
        /// ref/out/in/ref readonly, params, scoped and this change how an argument is passed, and a default value lets a
        /// caller omit it; the generated Evaluate/VJP pass every input by value, so each is rejected by name.
        /// </summary>
        private static void CheckParameterSyntax(ParameterSyntax syntax, IParameterSymbol ps)
        {
            if (syntax.Modifiers.Count > 0)
            {
                string modifiers = string.Join(" ", syntax.Modifiers.Select(m => m.Text));
                throw new DslException(DiagnosticInfo.Create("ODE0007", syntax.Modifiers.First().GetLocation(),
                    $"the '{modifiers}' modifier on parameter '{ps.Name}' (state, time and parameters are passed by value)"));
            }
            if (syntax.Default is { } value)
                throw Error("ODE0007", value, $"the default value '{value.Value}' of parameter '{ps.Name}' (every argument is passed)");
            if (ps.Type.TypeKind == TypeKind.Dynamic)
                throw Error("ODE0007", syntax.Type, $"the 'dynamic' type of parameter '{ps.Name}'");
        }

        /// <summary>The types a DSL value may have: the three array types and the floating-point scalars.</summary>
        private static bool IsValueType(ITypeSymbol type) =>
            type.SpecialType is SpecialType.System_Single or SpecialType.System_Double
            || type.ToDisplayString() is "OdeDsl.Vec" or "OdeDsl.Mat" or "OdeDsl.Tensor";

        private static void CheckRank(string typeName, int[] dims, SyntaxNode at)
        {
            int expected = typeName switch { "OdeDsl.Vec" => 1, "OdeDsl.Mat" => 2, "OdeDsl.Tensor" => dims.Length, "float" or "double" => 0, _ => -1 };
            if (expected < 0) throw Error("ODE0007", at, $"type '{typeName}' is not Vec, Mat or float");
            if (dims.Length != expected) throw Error("ODE0003", at, at.ToString(), $"a {typeName} needs {expected} dimension(s) but the attribute gives {Primitive.ShapeText(dims)}");
        }

        private static int[] Dims(AttributeData attr, SyntaxNode at)
        {
            var dims = attr.ConstructorArguments.Length == 1 && attr.ConstructorArguments[0].Kind == TypedConstantKind.Array
                ? attr.ConstructorArguments[0].Values.Select(v => v.Value is int i ? i : -1).ToArray()
                : attr.ConstructorArguments.Select(v => v.Value is int i ? i : -1).ToArray();
            if (dims.Any(d => d <= 0)) throw Error("ODE0003", at, at.ToString(), "dimensions must be positive integer constants");
            return dims;
        }

        // ---------------- statements ----------------

        private SyntaxNode? _returnSyntax;

        private int Body(MethodDeclarationSyntax method)
        {
            if (method.ExpressionBody is { } arrow)
            {
                _returnSyntax = arrow.Expression;
                return Expr(arrow.Expression);
            }
            if (method.Body is null) throw Error("ODE0007", method, "the method has no body");
            int? result = Statements(method.Body.Statements);
            if (result is null) throw Error("ODE0002", method.Body, "a body without a final return statement");
            return result.Value;
        }

        private int? Statements(SyntaxList<StatementSyntax> statements)
        {
            for (int s = 0; s < statements.Count; s++)
            {
                var st = statements[s];
                if (st is ReturnStatementSyntax ret)
                {
                    if (s != statements.Count - 1 || ret.Expression is null) throw Error("ODE0002", ret, "an early or empty return");
                    _returnSyntax = ret.Expression;
                    return Expr(ret.Expression);
                }
                Statement(st);
            }
            return null;
        }

        private void Statement(StatementSyntax st)
        {
            switch (st)
            {
                case LocalDeclarationStatementSyntax local:
                    if (!local.UsingKeyword.IsKind(SyntaxKind.None))
                        throw Error("ODE0002", local, $"a 'using' declaration '{Short(local)}'");
                    foreach (var modifier in local.Modifiers)
                        if (!modifier.IsKind(SyntaxKind.ConstKeyword))
                            throw new DslException(DiagnosticInfo.Create("ODE0002", modifier.GetLocation(), $"the '{modifier.Text}' modifier on a local"));
                    foreach (var v in local.Declaration.Variables)
                    {
                        if (v.Initializer is null) throw Error("ODE0002", v, $"a local without initialiser '{v.Identifier.Text}'");
                        if (_model.GetDeclaredSymbol(v) is ILocalSymbol { Type.TypeKind: TypeKind.Dynamic })
                            throw Error("ODE0002", v, $"the 'dynamic' local '{v.Identifier.Text}'");
                        int value = Expr(v.Initializer.Value);
                        CheckLocalType(v, value);
                        _env[v.Identifier.Text] = value;
                    }
                    break;
                case ExpressionStatementSyntax { Expression: AssignmentExpressionSyntax assign }:
                    Assign(assign);
                    break;
                case ExpressionStatementSyntax { Expression: PostfixUnaryExpressionSyntax or PrefixUnaryExpressionSyntax } inc:
                    throw Error("ODE0002", inc, $"increment '{inc}'");
                case BlockSyntax block:
                    if (Statements(block.Statements) is not null) throw Error("ODE0002", block, "a return inside a nested block");
                    break;
                case ForStatementSyntax loop:
                    For(loop);
                    break;
                default:
                    throw Error("ODE0002", st, $"{Describe(st)} statement '{Short(st)}'");
            }
        }

        /// <summary>
        /// A local holds a DSL value (Vec, Mat, Tensor, float, double) or an integer constant (an index, a loop bound);
        /// a dynamic, object or other local would make the C# method and the generated code disagree.
        /// </summary>
        private void CheckLocalType(VariableDeclaratorSyntax v, int value)
        {
            if (_model.GetDeclaredSymbol(v) is not ILocalSymbol local) return;
            var type = local.Type;
            if (IsValueType(type)) return;
            if (IsIntegral(type) && _g[value].Op == OpKind.Const) return;
            throw Error("ODE0002", v, $"the local '{local.Name}' of type '{type.ToDisplayString()}' (locals are Vec, Mat, Tensor, float, double or integer constants)");
        }

        private static bool IsIntegral(ITypeSymbol? type) => type?.SpecialType is SpecialType.System_Int32 or SpecialType.System_Int64
            or SpecialType.System_Int16 or SpecialType.System_SByte or SpecialType.System_Byte or SpecialType.System_UInt16
            or SpecialType.System_UInt32 or SpecialType.System_UInt64;

        private static string Describe(SyntaxNode n) => n.Kind().ToString().Replace("Statement", "").Replace("Expression", "").ToLowerInvariant() is var k && k.Length > 0 ? $"'{k}'" : "this";

        private void Assign(AssignmentExpressionSyntax assign)
        {
            if (assign.Left is DeclarationExpressionSyntax { Designation: ParenthesizedVariableDesignationSyntax names }
                && assign.Right is TupleExpressionSyntax tuple && names.Variables.Count == tuple.Arguments.Count)
            {
                var values = tuple.Arguments.Select(a => Expr(a.Expression)).ToArray();
                for (int i = 0; i < values.Length; i++)
                    if (names.Variables[i] is SingleVariableDesignationSyntax single) _env[single.Identifier.Text] = values[i];
                    else throw Error("ODE0002", names.Variables[i], "nested deconstruction");
                return;
            }
            if (assign.Left is TupleExpressionSyntax lt && assign.Right is TupleExpressionSyntax rt && lt.Arguments.Count == rt.Arguments.Count)
            {
                var values = rt.Arguments.Select(a => Expr(a.Expression)).ToArray();
                for (int i = 0; i < values.Length; i++) Bind(lt.Arguments[i].Expression, values[i]);
                return;
            }
            if (assign.Left is not IdentifierNameSyntax)
                throw Error("ODE0002", assign.Left, $"assignment to '{assign.Left}'");
            int value = Expr(assign.Right);
            if (!assign.IsKind(SyntaxKind.SimpleAssignmentExpression))
            {
                var op = assign.Kind() switch
                {
                    SyntaxKind.AddAssignmentExpression => SyntaxKind.AddExpression,
                    SyntaxKind.SubtractAssignmentExpression => SyntaxKind.SubtractExpression,
                    SyntaxKind.MultiplyAssignmentExpression => SyntaxKind.MultiplyExpression,
                    SyntaxKind.DivideAssignmentExpression => SyntaxKind.DivideExpression,
                    _ => throw Error("ODE0002", assign, $"operator '{assign.OperatorToken.Text}'"),
                };
                value = Binary(op, Expr(assign.Left), value, assign);
            }
            Bind(assign.Left, value);
        }

        private void Bind(ExpressionSyntax target, int value)
        {
            if (target is not IdentifierNameSyntax id) throw Error("ODE0002", target, $"assignment to '{target}'");
            string name = id.Identifier.Text;
            if (_paramNames.Contains(name)) throw Error("ODE0006", target, $"the parameter '{name}' is written to");
            var symbol = _model.GetSymbolInfo(id).Symbol;
            if (symbol is IFieldSymbol or IPropertySymbol) throw Error("ODE0006", target, $"the field '{name}' is written to");
            _env[name] = value;
        }

        /// <summary>for (int i = a; i &lt; b; i++) with constant bounds: unrolled, the loop variable bound to a constant.</summary>
        private void For(ForStatementSyntax loop)
        {
            if (loop.Declaration is not { Variables.Count: 1 } decl || decl.Variables[0].Initializer is null
                || loop.Condition is not BinaryExpressionSyntax cond || cond.Left is not IdentifierNameSyntax condVar
                || loop.Incrementors.Count != 1)
                throw Error("ODE0002", loop, "a for loop that is not 'for (int i = a; i < b; i++)' with constant bounds");
            string name = decl.Variables[0].Identifier.Text;
            int start = ConstInt(decl.Variables[0].Initializer!.Value);
            int end = ConstInt(cond.Right);
            if (condVar.Identifier.Text != name) throw Error("ODE0002", cond, "a loop condition on another variable");
            if (cond.IsKind(SyntaxKind.LessThanOrEqualExpression)) end++;
            else if (!cond.IsKind(SyntaxKind.LessThanExpression)) throw Error("ODE0002", cond, $"loop condition '{cond}'");
            int step = loop.Incrementors[0] switch
            {
                PostfixUnaryExpressionSyntax p when p.IsKind(SyntaxKind.PostIncrementExpression) => 1,
                PrefixUnaryExpressionSyntax p when p.IsKind(SyntaxKind.PreIncrementExpression) => 1,
                AssignmentExpressionSyntax a when a.IsKind(SyntaxKind.AddAssignmentExpression) => ConstInt(a.Right),
                var other => throw Error("ODE0002", other, $"loop increment '{other}'"),
            };
            if (step <= 0 || (end - start) / step > 4096) throw Error("ODE0002", loop, "a loop with a non-positive step or more than 4096 iterations");
            for (int i = start; i < end; i += step)
            {
                _env[name] = _g.Constant(i);
                if (loop.Statement is BlockSyntax b)
                {
                    if (Statements(b.Statements) is not null) throw Error("ODE0002", b, "a return inside a loop");
                }
                else Statement(loop.Statement);
            }
            _env.Remove(name);
        }

        // ---------------- expressions ----------------

        private int ConstInt(ExpressionSyntax e)
        {
            var cv = _model.GetConstantValue(e);
            if (cv.HasValue && cv.Value is int i) return i;
            int node = Expr(e);
            if (_g[node].Op == OpKind.Const && _g[node].Value == Math.Floor(_g[node].Value)) return (int)_g[node].Value;
            throw Error("ODE0002", e, $"the index '{e}' is not a compile-time constant");
        }

        private int Expr(ExpressionSyntax e)
        {
            // C#'s own value for an integer constant expression: integer division and (int) casts keep C# semantics.
            // Floating-point constant expressions are folded by the graph builder in double instead (so `1f / 3f` is 1/3 to
            // double precision in double code, not C#'s float-rounded 0.33333334f); their literals are read as written.
            var constant = _model.GetConstantValue(e);
            if (constant.HasValue && constant.Value is int or long or short or sbyte or byte or ushort or uint or ulong)
                return _g.Constant(Convert.ToDouble(constant.Value, System.Globalization.CultureInfo.InvariantCulture));
            var typeInfo = _model.GetTypeInfo(e);
            if (typeInfo.Type?.TypeKind == TypeKind.Dynamic || typeInfo.ConvertedType?.TypeKind == TypeKind.Dynamic)
                throw Error("ODE0002", e, $"the 'dynamic' value '{Short(e)}'");
            switch (e)
            {
                case ParenthesizedExpressionSyntax p: return Expr(p.Expression);
                case CastExpressionSyntax c: return Cast(c);
                case CheckedExpressionSyntax ch: return Expr(ch.Expression);
                case LiteralExpressionSyntax lit when lit.IsKind(SyntaxKind.NumericLiteralExpression):
                    return _g.Constant(Convert.ToDouble(lit.Token.Value, System.Globalization.CultureInfo.InvariantCulture));
                case IdentifierNameSyntax id: return Identifier(id);
                case PrefixUnaryExpressionSyntax u when u.IsKind(SyntaxKind.UnaryMinusExpression):
                    return Op(OpKind.Neg, u, Expr(u.Operand));
                case PrefixUnaryExpressionSyntax u when u.IsKind(SyntaxKind.UnaryPlusExpression):
                    return Expr(u.Operand);
                case BinaryExpressionSyntax b when b.IsKind(SyntaxKind.AddExpression) || b.IsKind(SyntaxKind.SubtractExpression)
                                                  || b.IsKind(SyntaxKind.MultiplyExpression) || b.IsKind(SyntaxKind.DivideExpression):
                    return Binary(b.Kind(), Expr(b.Left), Expr(b.Right), b);
                case ElementAccessExpressionSyntax ea: return Element(ea);
                case InvocationExpressionSyntax inv: return Invocation(inv);
                case MemberAccessExpressionSyntax ma:
                    var cv = _model.GetConstantValue(ma);
                    if (cv.HasValue && cv.Value is IConvertible) return _g.Constant(Convert.ToDouble(cv.Value, System.Globalization.CultureInfo.InvariantCulture));
                    if (_model.GetSymbolInfo(ma).Symbol is IFieldSymbol or IPropertySymbol)
                        throw Error("ODE0006", ma, $"the non-parameter member '{ma}' is read");
                    throw Error("ODE0002", ma, $"member access '{ma}'");
                default:
                    throw Error("ODE0002", e, $"{Describe(e)} expression '{Short(e)}'");
            }
        }

        private static string Short(SyntaxNode e)
        {
            var s = e.ToString();
            return s.Length > 60 ? s.Substring(0, 57) + "..." : s;
        }

        private int Identifier(IdentifierNameSyntax id)
        {
            string name = id.Identifier.Text;
            var symbol = _model.GetSymbolInfo(id).Symbol;
            if (symbol is ILocalSymbol { IsConst: true } lc && lc.ConstantValue is IConvertible lv)
                return _g.Constant(Convert.ToDouble(lv, System.Globalization.CultureInfo.InvariantCulture));
            if (symbol is IFieldSymbol { IsConst: true } fc && fc.ConstantValue is IConvertible fv)
                return _g.Constant(Convert.ToDouble(fv, System.Globalization.CultureInfo.InvariantCulture));
            if (_env.TryGetValue(name, out int v) && symbol is not IFieldSymbol and not IPropertySymbol) return v;
            if (symbol is IFieldSymbol or IPropertySymbol) throw Error("ODE0006", id, $"the non-parameter field '{name}' is read");
            throw Error("ODE0002", id, $"the name '{name}' (not a parameter, local or constant)");
        }

        private int Op(OpKind op, SyntaxNode at, params int[] args) => Op(op, at, 0, null, args);

        private int Op(OpKind op, SyntaxNode at, double value, int[]? ints, params int[] args)
        {
            try
            {
                return _g.Add(op, args, value, ints, Short(at));
            }
            catch (ShapeError e)
            {
                throw Error("ODE0003", at, Short(at), e.Message);
            }
        }

        /// <summary>Casts between DSL value types are the identity; an integer cast is exact only on a constant.</summary>
        private int Cast(CastExpressionSyntax c)
        {
            var target = _model.GetTypeInfo(c.Type).Type;
            if (target is not null && IsValueType(target)) return Expr(c.Expression);
            if (IsIntegral(target))
            {
                int inner = Expr(c.Expression);
                if (_g[inner].Op == OpKind.Const) return _g.Constant(Math.Truncate(_g[inner].Value));
            }
            throw Error("ODE0002", c, $"a cast to '{c.Type}' of the non-constant value '{Short(c.Expression)}'");
        }

        private int Binary(SyntaxKind kind, int left, int right, SyntaxNode at)
        {
            // integer arithmetic (on loop variables) is folded with C#'s truncating division; it is never run per sample
            if (IsIntegral(_model.GetTypeInfo(at).Type))
            {
                if (_g[left].Op != OpKind.Const || _g[right].Op != OpKind.Const)
                    throw Error("ODE0002", at, $"integer arithmetic on a non-constant '{Short(at)}'");
                double a = _g[left].Value, b = _g[right].Value;
                if (kind == SyntaxKind.DivideExpression && b == 0) throw Error("ODE0002", at, $"an integer division by zero '{Short(at)}'");
                return _g.Constant(kind switch
                {
                    SyntaxKind.AddExpression => a + b,
                    SyntaxKind.SubtractExpression => a - b,
                    SyntaxKind.MultiplyExpression => a * b,
                    _ => Math.Truncate(a / b),
                });
            }
            if (kind == SyntaxKind.MultiplyExpression && _g[left].Shape.Count == 2 && _g[right].Shape.Count == 1)
                return MatVec(left, right, at);
            if (_g[left].Shape.Count == 2 && _g[right].Shape.Count == 2 && kind == SyntaxKind.MultiplyExpression)
                throw Error("ODE0002", at, $"matrix-matrix product '{Short(at)}'");
            var op = kind switch
            {
                SyntaxKind.AddExpression => OpKind.Add,
                SyntaxKind.SubtractExpression => OpKind.Sub,
                SyntaxKind.MultiplyExpression => OpKind.Mul,
                _ => OpKind.Div,
            };
            return Op(op, at, left, right);
        }

        private int MatVec(int matrix, int vector, SyntaxNode at)
        {
            var m = _g[matrix];
            bool transposed = false;
            if (m.Op == OpKind.Transpose && _g[m.Args[0]].Op == OpKind.Param)
            {
                transposed = true;
                m = _g[m.Args[0]];
            }
            if (m.Op != OpKind.Param) throw Error("ODE0002", at, $"a product with the computed matrix '{m.Text}' (the matrix must be a [Param])");
            var x = _g[vector];
            if (x.Op == OpKind.Param || x.Op == OpKind.Const || (x.Op == OpKind.Slice && _g[x.Args[0]].Op == OpKind.Param))
                throw Error("ODE0002", at, $"a product of two parameters '{Short(at)}' (precompute it outside the dynamics)");
            return Op(OpKind.MatVec, at, 0, new[] { transposed ? 1 : 0 }, m.Id, vector);
        }

        private int Element(ElementAccessExpressionSyntax ea)
        {
            int target = Expr(ea.Expression);
            var node = _g[target];
            var args = ea.ArgumentList.Arguments;
            if (args.Count == 1 && args[0].Expression is RangeExpressionSyntax range)
            {
                if (node.Shape.Count != 1) throw Error("ODE0002", ea, $"slicing '{Short(ea)}' of a non-vector");
                int from = range.LeftOperand is null ? 0 : ConstInt(range.LeftOperand);
                int to = range.RightOperand is null ? node.Size : ConstInt(range.RightOperand);
                return Op(OpKind.Slice, ea, 0, new[] { from, to - from }, target);
            }
            var idx = args.Select(a => ConstInt(a.Expression)).ToArray();
            if (node.Shape.Count == 1 && idx.Length == 1)
                return Op(OpKind.Slice, ea, 0, new[] { idx[0] }, target);
            if (node.Shape.Count == 2 && idx.Length == 2)
            {
                if (idx[1] >= node.Shape[1] || idx[1] < 0) throw Error("ODE0003", ea, Short(ea), $"column {idx[1]} is outside {Primitive.ShapeText(node)}");
                return Op(OpKind.Slice, ea, 0, new[] { idx[0] * node.Shape[1] + idx[1] }, target);
            }
            if (node.Shape.Count == 2 && idx.Length == 1)
                return Op(OpKind.Slice, ea, 0, new[] { idx[0] * node.Shape[1], node.Shape[1] }, target);
            throw Error("ODE0003", ea, Short(ea), $"{idx.Length} index(es) into `{node.Text}` of shape {Primitive.ShapeText(node)}");
        }

        /// <summary>Call arguments by parameter name (named or positional), defaults left out.</summary>
        private static Dictionary<string, ExpressionSyntax> Named(InvocationExpressionSyntax inv, IMethodSymbol method)
        {
            var map = new Dictionary<string, ExpressionSyntax>();
            var args = inv.ArgumentList.Arguments;
            for (int i = 0; i < args.Count; i++)
            {
                string name = args[i].NameColon?.Name.Identifier.Text ?? (i < method.Parameters.Length ? method.Parameters[i].Name : "");
                map[name] = args[i].Expression;
            }
            return map;
        }

        private void RequireParam(int node, ExpressionSyntax at)
        {
            if (_g[node].Op != OpKind.Param) throw Error("ODE0002", at, $"'{Short(at)}' must be a [Param] argument here");
        }

        private static readonly Dictionary<string, OpKind> s_unary = new()
        {
            ["Tanh"] = OpKind.Tanh, ["Sigmoid"] = OpKind.Sigmoid, ["Relu"] = OpKind.Relu, ["Softplus"] = OpKind.Softplus,
            ["Elu"] = OpKind.Elu, ["Exp"] = OpKind.Exp, ["Log"] = OpKind.Log, ["Sin"] = OpKind.Sin, ["Cos"] = OpKind.Cos,
            ["Sqrt"] = OpKind.Sqrt, ["Square"] = OpKind.Square, ["Abs"] = OpKind.Abs,
        };

        private int Invocation(InvocationExpressionSyntax inv)
        {
            var symbol = _model.GetSymbolInfo(inv).Symbol as IMethodSymbol;
            string owner = symbol?.ContainingType?.ToDisplayString() ?? "";
            string name = symbol?.Name ?? "";
            if (symbol is null || (owner != "OdeDsl.Ops" && !(owner == "OdeDsl.Vec" && name == "Of")))
                throw Error("ODE0002", inv, $"call to '{Short(inv.Expression)}' (only OdeDsl.Ops functions and Vec.Of)");
            var args = inv.ArgumentList.Arguments;
            if (owner == "OdeDsl.Vec")
                return Op(OpKind.Concat, inv, args.Select(a => Expr(a.Expression)).ToArray());
            if (s_unary.TryGetValue(name, out var unary) && args.Count == 1)
                return Op(unary, inv, Expr(args[0].Expression));
            switch (name)
            {
                case "Pow" when args.Count == 2:
                    var c = Expr(args[1].Expression);
                    if (_g[c].Op != OpKind.Const) throw Error("ODE0002", args[1], "Pow with a non-constant exponent");
                    return Op(OpKind.Pow, inv, _g[c].Value, null, Expr(args[0].Expression));
                case "Dot": return Op(OpKind.Dot, inv, Expr(args[0].Expression), Expr(args[1].Expression));
                case "Sum": return Op(OpKind.Sum, inv, Expr(args[0].Expression));
                case "Mean":
                    int x = Expr(args[0].Expression);
                    return Op(OpKind.Mean, inv, _g[x].Size, null, x);
                case "Outer": return Op(OpKind.Outer, inv, Expr(args[0].Expression), Expr(args[1].Expression));
                case "Transpose": return Op(OpKind.Transpose, inv, Expr(args[0].Expression));
                case "Concat": return Op(OpKind.Concat, inv, args.Select(a => Expr(a.Expression)).ToArray());
                case "Conv2d":
                {
                    var a = Named(inv, symbol);
                    int input = Expr(a["x"]), k = Expr(a["kernel"]), bias = Expr(a["bias"]);
                    RequireParam(k, a["kernel"]);
                    RequireParam(bias, a["bias"]);
                    int stride = a.TryGetValue("stride", out var st) ? ConstInt(st) : 1;
                    int padding = a.TryGetValue("padding", out var pd) ? ConstInt(pd) : 0;
                    var kn = _g[k];
                    double patch = kn.Shape.Count == 4 ? kn.Shape[1] * kn.Shape[2] * kn.Shape[3] : 1;
                    return Op(OpKind.Conv2d, inv, patch, new[] { stride, padding, _g[input].Size }, input, k, bias);
                }
                case "GroupNorm":
                {
                    var a = Named(inv, symbol);
                    int input = Expr(a["x"]), gamma = Expr(a["gamma"]), beta = Expr(a["beta"]);
                    RequireParam(gamma, a["gamma"]);
                    RequireParam(beta, a["beta"]);
                    return Op(OpKind.GroupNorm, inv, 0, new[] { ConstInt(a["groups"]) }, input, gamma, beta);
                }
                case "AvgPool":
                {
                    var a = Named(inv, symbol);
                    int k = ConstInt(a["kernel"]);
                    int stride = a.TryGetValue("stride", out var st) ? ConstInt(st) : k;
                    int pooled = Expr(a["x"]);
                    return Op(OpKind.AvgPool, inv, 0, new[] { k, stride, _g[pooled].Size }, pooled);
                }
                case "GlobalAvgPool":
                    return Op(OpKind.GlobalAvgPool, inv, Expr(args[0].Expression));
                case "ConcatChannel":
                    return Op(OpKind.ConcatChannel, inv, Expr(args[0].Expression), Expr(args[1].Expression));
            }
            throw Error("ODE0002", inv, $"the function '{name}' has no generator rule yet");
        }
    }
}
