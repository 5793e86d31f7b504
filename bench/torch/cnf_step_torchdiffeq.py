#!/usr/bin/env python3
"""torchdiffeq's CNF step on exactly the problem of `OdeDsl.Bench cnf-step --model hyper|mlp` (same machine, same run).

The model is the hypernetwork planar CNF that torchdiffeq's examples/cnf.py describes (hidden 32, width 64): a
1 -> 32 -> 32 -> (3*width*d + width) tanh hypernetwork of t gives W, U, G, B; f(z) = mean_n U_n*sigmoid(G_n) tanh(W_n.z + B_n);
the trace by one autograd pass per dimension (as cnf.py does, so the cost is torchdiffeq's). Written here from that
description, not copied. `--model mlp`: the reference's plain field, Linear(3, 64) tanh Linear(64, 64) tanh Linear(64, 2)
on [z, t] (state_dict keys net.0/2/4), trace the same way. Data and weights: cnf_two_circles.json (torch state_dict layout). State (z, dlogp) from
t = 10 to 0, dopri5 rtol = atol = 1e-5, float32; loss = -mean(log N(z0; 0, 0.1 I) - dlogp0); one forward + backward.
Needs python3-torch (Debian) and a torchdiffeq checkout on PYTHONPATH. Prints one JSON line per mode.
"""
import argparse, json, statistics, time
import torch
import torchdiffeq

p = argparse.ArgumentParser()
p.add_argument("--reference", default="tests/OdeDsl.Tests/Data/cnf_two_circles.json")
p.add_argument("--repeats", type=int, default=7)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--model", choices=["hyper", "mlp"], default="hyper")
a = p.parse_args()
torch.set_num_threads(a.threads)
ref = json.load(open(a.reference))
w = ref["weights_seed0"][a.model]
D, H, M = 2, 32, 64


class HyperCnf(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = torch.nn.Linear(1, H), torch.nn.Linear(H, H), torch.nn.Linear(H, 3 * M * D + M)
        self.load_state_dict({k.replace("hyper_net.", ""): torch.tensor(v, dtype=torch.float32) for k, v in w.items()})
        self.nfe = 0

    def forward(self, t, state):
        self.nfe += 1
        z, _ = state
        with torch.enable_grad():
            z.requires_grad_(True)
            q = self.fc3(torch.tanh(self.fc2(torch.tanh(self.fc1(t.reshape(1, 1)))))).reshape(-1)
            W = q[:M * D].reshape(M, D)
            U = q[M * D:2 * M * D].reshape(M, D) * torch.sigmoid(q[2 * M * D:3 * M * D].reshape(M, D))
            B = q[3 * M * D:]
            f = (torch.tanh(z @ W.T + B) @ U) / M
            trace = sum(torch.autograd.grad(f[:, i].sum(), z, create_graph=True)[0][:, i] for i in range(D))
        return f, -trace.reshape(-1, 1)


class MlpCnf(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(D + 1, 64), torch.nn.Tanh(), torch.nn.Linear(64, 64), torch.nn.Tanh(),
                                       torch.nn.Linear(64, D))
        self.net.load_state_dict({k.replace("net.", ""): torch.tensor(v, dtype=torch.float32) for k, v in w.items()})
        self.nfe = 0

    def forward(self, t, state):
        self.nfe += 1
        z, _ = state
        with torch.enable_grad():
            z.requires_grad_(True)
            f = self.net(torch.cat([z, t.expand(z.shape[0], 1)], dim=1))
            trace = sum(torch.autograd.grad(f[:, i].sum(), z, create_graph=True)[0][:, i] for i in range(D))
        return f, -trace.reshape(-1, 1)


model = HyperCnf() if a.model == "hyper" else MlpCnf()
x = torch.tensor(ref["x"], dtype=torch.float32)
times = torch.tensor([10.0, 0.0])
base = torch.distributions.MultivariateNormal(torch.zeros(D), 0.1 * torch.eye(D))


def step(adjoint):
    solve = torchdiffeq.odeint_adjoint if adjoint else torchdiffeq.odeint
    model.zero_grad()
    model.nfe = 0
    zs, dlogp = solve(model, (x, torch.zeros(x.shape[0], 1)), times, rtol=1e-5, atol=1e-5, method="dopri5")
    loss = -(base.log_prob(zs[-1]) - dlogp[-1].reshape(-1)).mean()
    fwd = model.nfe
    loss.backward()
    return loss.item(), fwd, model.nfe - fwd


for mode in ["backprop", "adjoint"]:
    loss, fwd, bwd = step(mode == "adjoint")
    t = []
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        step(mode == "adjoint")
        t.append(time.perf_counter() - t0)
    print(json.dumps({"bench": "cnf-step-torchdiffeq", "model": a.model, "mode": mode, "loss": loss, "nfe_forward": fwd,
                      "nfe_backward": bwd, "median_ms": 1000 * statistics.median(t), "min_ms": 1000 * min(t),
                      "repeats": a.repeats, "threads": a.threads, "torch": torch.__version__}))
