namespace OdeDsl.Generators
{
    /// <summary>Skeleton marker; the generator work replaces this file.</summary>
    public static class Placeholder { }
}
