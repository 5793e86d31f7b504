#!/usr/bin/env python3
"""torchdiffeq's MNIST ODE-Net step on exactly the weights and batches of `OdeDsl.Bench mnist-step --export DIR`.

The network is the one torchdiffeq's examples/odenet_mnist.py describes (written here from that description, not
copied): downsampling Conv(1->64, 3) - GN - ReLU - Conv(64->64, 4, s2, p1) - GN - ReLU - Conv(64->64, 4, s2, p1); the ODE
block's f = GN - ReLU - ConcatConv(65->64, 3, p1) - GN - ReLU - ConcatConv - GN on 64x6x6 (GroupNorm(32, 64), ConcatConv
appends t as a constant channel), integrated over [0, 1] by dopri5 rtol = atol = 1e-3 through odeint_adjoint; head GN -
ReLU - global average pool - Linear(64, 10); mean cross-entropy. float32.

Weights: the export's raw little-endian float32 file with a JSON index (names down.*, block.*, head.* in OdeDsl's layouts).
OdeDsl's ConcatChannel puts t LAST (channel 64) while odenet_mnist's ConcatConv2d puts it FIRST: the kernels' input
channels are rotated on load so that both compute the same function.

Prints JSON lines: a training step at the export's train batch (forward + adjoint backward; loss; forward/backward NFE;
median and fastest seconds) and a test pass at its test batch. Needs Debian's python3-torch and a torchdiffeq checkout
on PYTHONPATH:  PYTHONPATH=/tmp/tdq python3 bench/torch/mnist_step_torch.py --data DIR
"""
import argparse, json, os, statistics, time
import numpy as np
import torch
import torch.nn as nn
import torchdiffeq

p = argparse.ArgumentParser()
p.add_argument("--data", required=True, help="directory written by `mnist-step --export`")
p.add_argument("--repeats", type=int, default=3)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--tol", type=float, default=1e-3)
p.add_argument("--modes", default="train,test", help="comma-separated: train (the step at the train batch), test (the test pass)")
a = p.parse_args()
torch.set_num_threads(a.threads)

index = json.load(open(os.path.join(a.data, "mnist_step.json")))
raw = np.fromfile(os.path.join(a.data, "mnist_step.bin"), dtype="<f4")
tensors = {e["name"]: torch.from_numpy(raw[e["offset"]:e["offset"] + int(np.prod(e["shape"]))].reshape(e["shape"]).copy())
           for e in index["tensors"]}


def gn():
    return nn.GroupNorm(32, 64)


class ConcatConv2d(nn.Module):
    def __init__(self, padding):
        super().__init__()
        self.layer = nn.Conv2d(65, 64, 3, 1, padding)

    def forward(self, t, x):
        return self.layer(torch.cat([torch.ones_like(x[:, :1]) * t, x], 1))


class ODEfunc(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm1, self.conv1, self.norm2, self.conv2, self.norm3 = gn(), ConcatConv2d(1), gn(), ConcatConv2d(1), gn()
        self.nfe = 0

    def forward(self, t, x):
        self.nfe += 1
        out = self.conv1(t, torch.relu(self.norm1(x)))
        out = self.conv2(t, torch.relu(self.norm2(out)))
        return self.norm3(out)


class ODEBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.odefunc = ODEfunc()
        self.integration_time = torch.tensor([0.0, 1.0])

    def forward(self, x):
        return torchdiffeq.odeint_adjoint(self.odefunc, x, self.integration_time, rtol=a.tol, atol=a.tol)[1]


model = nn.Sequential(
    nn.Conv2d(1, 64, 3, 1), gn(), nn.ReLU(), nn.Conv2d(64, 64, 4, 2, 1), gn(), nn.ReLU(), nn.Conv2d(64, 64, 4, 2, 1),
    ODEBlock(),
    gn(), nn.ReLU(), nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(64, 10))


def time_first(k):
    """OdeDsl's ConcatChannel appends t as channel 64; odenet_mnist's ConcatConv2d prepends it as channel 0."""
    return torch.cat([k[:, 64:], k[:, :64]], 1)


f = model[7].odefunc
with torch.no_grad():
    for module, prefix, names in [(model[0], "down", ("K1", "c1")), (model[1], "down", ("g1", "beta1")),
                                  (model[3], "down", ("K2", "c2")), (model[4], "down", ("g2", "beta2")),
                                  (model[6], "down", ("K3", "c3")),
                                  (f.norm1, "block", ("g1", "beta1")), (f.conv1.layer, "block", ("K1", "c1")),
                                  (f.norm2, "block", ("g2", "beta2")), (f.conv2.layer, "block", ("K2", "c2")),
                                  (f.norm3, "block", ("g3", "beta3")),
                                  (model[8], "head", ("g", "beta")), (model[12], "head", ("W", "b"))]:
        weight, bias = tensors[f"{prefix}.{names[0]}"], tensors[f"{prefix}.{names[1]}"]
        if module in (f.conv1.layer, f.conv2.layer):
            weight = time_first(weight)
        assert module.weight.shape == weight.shape and module.bias.shape == bias.shape, (prefix, names)
        module.weight.copy_(weight)
        module.bias.copy_(bias)
assert sum(p.numel() for p in model.parameters()) == sum(v.numel() for k, v in tensors.items() if not k.endswith("_images"))

x, y = tensors["train_images"], torch.tensor(index["train_labels"], dtype=torch.long)
xt, yt = tensors["test_images"], torch.tensor(index["test_labels"], dtype=torch.long)
loss_fn = nn.CrossEntropyLoss()


def train_step():
    model.zero_grad()
    f.nfe = 0
    loss = loss_fn(model(x), y)
    fwd = f.nfe
    loss.backward()
    return loss.item(), fwd, f.nfe - fwd


def test_pass():
    f.nfe = 0
    with torch.no_grad():
        logits = model(xt)
    return loss_fn(logits, yt).item(), int((logits.argmax(1) == yt).sum()), f.nfe


def timed(body, repeats):
    """Median and fastest wall seconds, and the median process CPU seconds (all threads, OpenMP's spin-waits included)."""
    result = body()  # warm-up
    t, cpu = [], []
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        body()
        t.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return result, statistics.median(t), min(t), statistics.median(cpu)


common = {"bench": "mnist-step-torch", "threads": a.threads, "precision": "float32", "torch": torch.__version__,
          "torchdiffeq": torchdiffeq.__version__}
modes = a.modes.split(",")
if "train" in modes:
    (loss, fwd, bwd), med, fastest, cpu = timed(train_step, a.repeats)
    print(json.dumps({**common, "mode": "train_step", "batch": len(y), "nfe_forward": fwd, "nfe_backward": bwd, "loss": loss,
                      "median_seconds": med, "min_seconds": fastest, "cpu_seconds": cpu}), flush=True)
if "test" in modes:
    (loss, correct, fwd), med, fastest, cpu = timed(test_pass, max(3, a.repeats // 2))
    print(json.dumps({**common, "mode": "test_pass", "batch": len(yt), "nfe_forward": fwd, "loss": loss, "correct": correct,
                      "median_seconds": med, "min_seconds": fastest, "cpu_seconds": cpu}), flush=True)
