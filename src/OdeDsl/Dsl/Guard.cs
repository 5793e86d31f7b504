namespace OdeDsl;

/// <summary>Argument checks shared by generated dynamics, so that the emitted code stays short.</summary>
public static class DynamicsGuard
{
    public static void Rows(int length, int batch, int rowLength, string name)
    {
        if (batch < 0) throw new ArgumentOutOfRangeException(nameof(batch), batch, "batch must be non-negative.");
        if (length < batch * rowLength)
            throw new ArgumentException($"'{name}' has {length} elements; batch {batch} × {rowLength} needs {batch * rowLength}.", name);
    }

    public static void Length(int length, int needed, string name)
    {
        if (length < needed)
            throw new ArgumentException($"'{name}' has {length} elements, {needed} are needed.", name);
    }
}
