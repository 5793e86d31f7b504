using System;
using System.Linq;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;
using OdeDsl.Generators.Diagnostics;
using OdeDsl.Generators.Ir;

namespace OdeDsl.Generators.Emit.Device
{
    /// <summary>
    /// The device-code output of the pipeline. The generator does not reference ILGPU: the device text names only
    /// OdeDsl.Gpu types (which wrap ILGPU's), so it is added only to compilations that reference the OdeDsl.Gpu assembly;
    /// everywhere else the CPU file is all there is. A type using a primitive without a device rule gets ODE0100 (an
    /// informational note) instead of device code, and nothing here ever fails the build: an emitter exception is ODE0008.
    /// </summary>
    internal static class DeviceOutput
    {
        public const string GpuAssembly = "OdeDsl.Gpu";

        public static void Register(IncrementalGeneratorInitializationContext context, IncrementalValuesProvider<ParseResult> results)
        {
            var wantsDevice = context.CompilationProvider.Select(static (c, _) => c.ReferencedAssemblyNames.Any(a => a.Name == GpuAssembly));
            var device = results.Where(static r => r.Spec is not null && !r.Spec.IsFunction).Combine(wantsDevice).Where(static x => x.Right);
            context.RegisterSourceOutput(device, static (spc, x) =>
            {
                var r = x.Left;
                string text;
                try
                {
                    var missing = DeviceEmitter.Missing(r.Spec!);
                    if (missing.Count > 0)
                    {
                        spc.ReportDiagnostic(DiagnosticInfo.Create("ODE0100", null, string.Join(".", r.Spec!.Types.Select(t => t.Name)) + "." + r.Spec.MethodName,
                            string.Join(", ", missing)).ToDiagnostic());
                        return;
                    }
                    text = DeviceEmitter.Emit(r.Spec!);
                }
                catch (Exception e)
                {
                    spc.ReportDiagnostic(DiagnosticInfo.Create("ODE0008", null, r.Spec!.MethodName, "device code: " + e.GetType().Name + ": " + e.Message).ToDiagnostic());
                    return;
                }
                spc.AddSource(HintName(r.HintName), SourceText.From(text, Encoding.UTF8));
            });
        }

        /// <summary>X.OdeDsl.g.cs → X.Device.OdeDsl.g.cs: the same file family as the CPU code.</summary>
        public static string HintName(string cpuHint) => cpuHint.Replace(".OdeDsl.g.cs", ".Device.OdeDsl.g.cs");
    }
}
