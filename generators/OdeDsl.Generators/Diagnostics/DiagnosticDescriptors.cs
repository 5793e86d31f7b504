using Microsoft.CodeAnalysis;

namespace OdeDsl.Generators.Diagnostics
{
    /// <summary>Every diagnostic the generator reports; each has an entry in docs/diagnostics.md.</summary>
    internal static class DiagnosticDescriptors
    {
        private const string Category = "OdeDsl";
        private const string Help = "https://github.com/odedsl/odedsl/blob/main/docs/diagnostics.md";

        public static readonly DiagnosticDescriptor NotPartial = Make("ODE0001",
            "Containing type must be partial", "The type '{0}' containing [OdeDynamics] method '{1}' must be declared partial");
        public static readonly DiagnosticDescriptor Unsupported = Make("ODE0002",
            "Unsupported construct in dynamics", "Unsupported construct in dynamics: {0} (supported constructs are listed in docs/dsl.md)");
        public static readonly DiagnosticDescriptor ShapeMismatch = Make("ODE0003",
            "Shape mismatch", "Shape mismatch in '{0}': {1}");
        public static readonly DiagnosticDescriptor MissingShape = Make("ODE0004",
            "State needs [Shape]", "The state parameter '{0}' needs a [Shape(...)] attribute");
        public static readonly DiagnosticDescriptor WrongReturnShape = Make("ODE0005",
            "Dynamics must return the state's shape", "Dynamics must return the state's shape: returns {0} for state {1}");
        public static readonly DiagnosticDescriptor CapturedState = Make("ODE0006",
            "Parameter write or non-parameter field read", "{0} (captured state breaks gradients)");
        public static readonly DiagnosticDescriptor BadSignature = Make("ODE0007",
            "Invalid dynamics signature", "Invalid dynamics signature: {0}");
        public static readonly DiagnosticDescriptor InternalError = Make("ODE0008",
            "Generator internal error", "The OdeDsl generator failed on '{0}': {1}");

        public static readonly DiagnosticDescriptor VersionMismatch = Make("ODE0009",
            "OdeDsl generator and runtime versions differ",
            "The OdeDsl source generator is version {0} but the referenced OdeDsl runtime is version {1}; no dynamics code was generated. Reference a single OdeDsl package version (the generator ships inside the package) and rebuild.");
        public static readonly DiagnosticDescriptor NoDeviceCode = new("ODE0100",
            "No device (GPU) code for this dynamics", "'{0}' has no device code for OdeDsl.Gpu: no device rule for {1} (its CPU code is unaffected)",
            Category, DiagnosticSeverity.Info, isEnabledByDefault: true, helpLinkUri: Help);

        private static DiagnosticDescriptor Make(string id, string title, string message) =>
            new(id, title, message, Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: Help);

        public static DiagnosticDescriptor ById(string id) => id switch
        {
            "ODE0001" => NotPartial,
            "ODE0002" => Unsupported,
            "ODE0003" => ShapeMismatch,
            "ODE0004" => MissingShape,
            "ODE0005" => WrongReturnShape,
            "ODE0006" => CapturedState,
            "ODE0007" => BadSignature,
            "ODE0009" => VersionMismatch,
            "ODE0100" => NoDeviceCode,
            _ => InternalError,
        };
    }
}
