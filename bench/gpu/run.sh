#!/usr/bin/env bash
# The GPU run of issue 12, prepared on a machine without a GPU, to be run once where one is lent (device time is short):
#   1. build the solution (Release);
#   2. run the GPU tests ON THE GPU (ODEDSL_GPU_TESTS_DEVICE=cuda: every ensemble, device-function and gradient test
#      runs its kernels on the first CUDA device and compares with the CPU runtime; ODEDSL_GPU_TESTS=full compiles
#      every field's kernels to PTX);
#   3. measure trajectories per second: Lorenz (DiffEqGPU's ensemble benchmark: tsit5, rtol = atol = 1e-8, t ∈ [0, 1])
#      for 10³ … 10⁶ trajectories and the spiral MLP at 10⁴ and 10⁵ (the fused per-trajectory kernel and the batched
#      GEMM-shaped path), on the GPU against our CPU runtime on the same machine in the same run (CPU up to 10⁵
#      trajectories: 10⁶ would take minutes);
#   4. the same for the adjoint gradient (forward solve + adjoint backward pass, GpuGradients.Adjoint): Lorenz 10³ … 10⁶,
#      the spiral MLP at 10⁴ and 10⁵, against the CPU runtime's per-trajectory Ode.Gradient(Sensitivity.Adjoint) up to 10⁴.
# Output: the GPU's name, the test summary and JSON lines, under $OUT (the device tool's return folder) or bench/gpu/out.
# Needs the .NET 10 SDK and the NuGet packages (ILGPU 1.5.3) on that machine; it says so and stops otherwise.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-bench/gpu/out}
mkdir -p "$out"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 NO_COLOR=1
if ! command -v dotnet >/dev/null; then echo "run.sh: no dotnet on this machine; install the .NET 10 SDK first." | tee "$out/error.txt"; exit 2; fi
(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || echo "nvidia-smi not found") | tee "$out/gpu.txt"
nproc | sed 's/^/cpu cores: /' | tee -a "$out/gpu.txt"

dotnet build OdeDsl.sln -c Release 2>&1 | tail -3 | tee "$out/build.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || { echo "run.sh: build failed"; exit 1; }

ODEDSL_GPU_TESTS=full ODEDSL_GPU_TESTS_DEVICE=cuda timeout 300 dotnet test tests/OdeDsl.Gpu.Tests -c Release --no-build 2>&1 \
    | tee "$out/tests.txt" | grep -E "Passed!|Failed!|Failed |Error Message" -A1

bench="dotnet bench/OdeDsl.Bench/bin/Release/net10.0/OdeDsl.Bench.dll"
timeout 600 $bench gpu-ensemble --device cuda --problem lorenz --n 1000,10000,100000,1000000 --cpu-max-n 100000 --repeats 3 | tee "$out/lorenz.jsonl"
# the spiral MLP both ways: fused (one thread per trajectory, per-sample steps) and batched (GEMM-shaped kernels over
# the batch, one shared step sequence), each against the matching CPU runtime mode
timeout 300 $bench gpu-ensemble --device cuda --problem spiral --strategy both --n 10000,100000 --cpu-max-n 100000 --repeats 3 | tee "$out/spiral.jsonl"
timeout 600 $bench gpu-ensemble --device cuda --problem lorenz --gradient adjoint --n 1000,10000,100000,1000000 --cpu-max-n 10000 --repeats 3 | tee "$out/lorenz-adjoint.jsonl"
timeout 300 $bench gpu-ensemble --device cuda --problem spiral --gradient adjoint --n 10000,100000 --cpu-max-n 10000 --repeats 3 | tee "$out/spiral-adjoint.jsonl"
