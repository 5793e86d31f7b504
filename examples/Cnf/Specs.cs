using OdeDsl.Flows;

namespace Cnf;

// Fig. 4's planar CNFs: M ∈ {2, 8, 32} planar units, hypernetwork 1 → 32 → 32 → 3·M·d + M (cnf.py's sizes).
public struct HyperM2 : IHyperPlanarSpec { public static int Dimension => 2; public static int HyperHidden => 32; public static int Width => 2; }
public struct HyperM8 : IHyperPlanarSpec { public static int Dimension => 2; public static int HyperHidden => 32; public static int Width => 8; }
public struct HyperM32 : IHyperPlanarSpec { public static int Dimension => 2; public static int HyperHidden => 32; public static int Width => 32; }
