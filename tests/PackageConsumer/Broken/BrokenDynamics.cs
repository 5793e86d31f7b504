using OdeDsl;

namespace PackageConsumer;

// A method outside the DSL (a by-reference state, issue 14): the generator from the package must report ODE0007.
public static partial class BrokenDynamics
{
    [OdeDynamics]
    static Vec F([Shape(2)] ref Vec h, float t) => h;
}
