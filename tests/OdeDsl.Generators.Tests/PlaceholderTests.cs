namespace OdeDsl.Generators.Tests;

public class GeneratorAssemblyTests
{
    [Fact]
    public void GeneratorAssemblyLoads() => Assert.NotNull(typeof(OdeDsl.Generators.Placeholder).Assembly);
}
