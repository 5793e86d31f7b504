namespace OdeDsl.Flows;

/// <summary>Argument checks shared by the CNF fields' entry points (what is wrong, with the sizes expected).</summary>
internal static class CnfGuard
{
    public static void Check(int d, int parameterCount, int thetaLength, int zLength, int vLength, int directions, int batch,
        int workspaceLength, int workspaceNeeded)
    {
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), batch, "batch must be positive.");
        if (directions < 0) throw new ArgumentOutOfRangeException(nameof(directions), directions, "directions must be non-negative.");
        if (thetaLength != parameterCount)
            throw new ArgumentException($"θ has {thetaLength} elements; the field has {parameterCount} parameters.", "theta");
        if (zLength < batch * d)
            throw new ArgumentException($"z has {zLength} elements; batch {batch} × dimension {d} are needed.", "z");
        if (vLength < directions * batch * d)
            throw new ArgumentException($"v has {vLength} elements; {directions} directions × batch {batch} × dimension {d} are needed.", "v");
        if (workspaceLength < workspaceNeeded)
            throw new ArgumentException($"The workspace has {workspaceLength} elements; WorkspaceLength({batch}, {directions}) = {workspaceNeeded}.", "workspace");
    }
}
