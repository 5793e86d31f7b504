using System.Linq;
using System.Reflection;
using Microsoft.CodeAnalysis;

namespace OdeDsl.Generators.Diagnostics
{
    /// <summary>
    /// The generator emits calls into the OdeDsl runtime of its own version (kernels, IOdeDynamics members). A consumer
    /// that references another runtime version (a NuGet package pinned apart from the generator, an old assembly on
    /// the path) would otherwise get missing-member compile errors inside generated code; this check turns that into
    /// ODE0009, naming both versions, and stops generation. Versions are the informational version without build
    /// metadata (the text after '+', e.g. a commit hash), so 0.2.0-preview and 0.2.0 differ but two builds of one
    /// version do not.
    /// </summary>
    internal static class RuntimeVersionCheck
    {
        /// <summary>This generator's version, as the package and Directory.Build.props (OdeDslVersion) set it.</summary>
        public static string GeneratorVersion { get; } = VersionOf(typeof(RuntimeVersionCheck).Assembly);

        /// <summary>The mismatch text for ODE0009, or null when the runtime matches or is not referenced.</summary>
        public static string? Mismatch(Compilation compilation)
        {
            var runtime = compilation.GetTypeByMetadataName("OdeDsl.OdeDynamicsAttribute")?.ContainingAssembly;
            // the attribute declared in source (not a referenced runtime) is not a version question
            if (runtime is null || SymbolEqualityComparer.Default.Equals(runtime, compilation.Assembly)) return null;
            string runtimeVersion = VersionOf(runtime);
            return runtimeVersion == GeneratorVersion ? null : runtimeVersion;
        }

        private static string VersionOf(Assembly assembly)
        {
            var info = assembly.GetCustomAttributes(typeof(AssemblyInformationalVersionAttribute), false)
                .OfType<AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion;
            return Strip(info) ?? assembly.GetName().Version?.ToString() ?? "unknown";
        }

        private static string VersionOf(IAssemblySymbol assembly)
        {
            var info = assembly.GetAttributes()
                .FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == "System.Reflection.AssemblyInformationalVersionAttribute")
                ?.ConstructorArguments.FirstOrDefault().Value as string;
            return Strip(info) ?? assembly.Identity.Version.ToString();
        }

        private static string? Strip(string? informational)
        {
            if (string.IsNullOrEmpty(informational)) return null;
            int plus = informational!.IndexOf('+');
            return plus < 0 ? informational : informational.Substring(0, plus);
        }
    }
}
