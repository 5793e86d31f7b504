#!/usr/bin/env bash
# The GPU run of issue 12, to be run ONCE on a lent GPU machine through the session's device tool. That machine is bare
# (no .NET, no network), so this runs the self-contained bench that bench/gpu/prepare.sh packed into .gpu-bundle/ (carry
# it: run(command="bash bench/gpu/run.sh", carry=[".gpu-bundle"], timeout_s=600)). Steps, each under `timeout`, the
# whole within 540 s even if one hangs:
#   1. nvidia-smi and the bundle's commit;
#   2. gpu-check: the device against the CPU runtime per trajectory (Lorenz, LV, spiral MLP fused and batched, adjoint
#      of Lorenz and the spiral MLP), one JSON line per case with pass/fail against the CPU-accelerator tests' bounds
#      (what `dotnet test tests/OdeDsl.Gpu.Tests` with ODEDSL_GPU_TESTS_DEVICE=cuda would check, without the SDK);
#   3. trajectories per second: Lorenz (DiffEqGPU's ensemble benchmark: tsit5, rtol = atol = 1e-8, t ∈ [0, 1]) for
#      10³ … 10⁶ trajectories, the CPU runtime on the same machine up to 10⁵; the spiral MLP at 10⁴ and 10⁵, fused and
#      batched, each against the matching CPU mode;
#   4. the adjoint gradient (forward + backward, GpuGradients.Adjoint): Lorenz 10³ … 10⁶ and the spiral MLP at 10⁴, 10⁵,
#      against the CPU runtime's per-trajectory Ode.Gradient(Sensitivity.Adjoint) up to 10⁴.
# Output under $OUT (the device tool's return folder; bench/gpu/out otherwise): gpu.txt, summary.txt, one .jsonl and
# .err per step. For a dry run on a machine without a GPU: ODEDSL_GPU_DEVICE=ilgpu-cpu with small ODEDSL_GPU_*_N.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-bench/gpu/out}
mkdir -p "$out"
device=${ODEDSL_GPU_DEVICE:-cuda}
lorenz_n=${ODEDSL_GPU_LORENZ_N:-1000,10000,100000,1000000}
spiral_n=${ODEDSL_GPU_SPIRAL_N:-10000,100000}
check_n=${ODEDSL_GPU_CHECK_N:-64}
repeats=${ODEDSL_GPU_REPEATS:-3}
budget=${ODEDSL_GPU_BUDGET_S:-540}
# .NET without ICU (a bare image may lack libicu); the bench formats with the invariant culture anyway
export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 DOTNET_NOLOGO=1 NO_COLOR=1

log() { echo "$*" | tee -a "$out/summary.txt"; }
bundle=.gpu-bundle/bench.tar.xz
[ -f "$bundle" ] || { log "run.sh: $bundle missing: run bench/gpu/prepare.sh first and carry .gpu-bundle"; exit 2; }
dir=$(mktemp -d /tmp/odedsl-gpu.XXXXXX)
if ! xz -dc "$bundle" | tar -C "$dir" -xf -; then log "run.sh: unpacking $bundle failed"; exit 2; fi
bench="$dir/bench/OdeDsl.Bench"
log "bundle commit $(cat "$dir/bench/COMMIT"), unpacked in ${SECONDS}s; device $device"
(timeout 20 nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || echo "nvidia-smi not found or failed") | tee "$out/gpu.txt"
nproc | sed 's/^/cpu cores: /' | tee -a "$out/gpu.txt"

# step NAME LIMIT_S ARGS…: the bench under `timeout`, cut to what is left of the budget (10 s kept for the kill grace)
step() {
    local name=$1 limit=$2; shift 2
    local left=$((budget - SECONDS - 10)) t0=$SECONDS rc
    ((left < limit)) && limit=$left
    if ((limit < 5)); then log "$name: skipped, budget spent"; return; fi
    timeout -k 5 "$limit" "$bench" "$@" > "$out/$name.jsonl" 2> "$out/$name.err"
    rc=$?
    cat "$out/$name.jsonl"
    [ -s "$out/$name.err" ] && head -5 "$out/$name.err"
    log "$name: rc=$rc in $((SECONDS - t0))s (limit ${limit}s$( ((rc == 124 || rc == 137)) && echo ', TIMED OUT'))"
}

step check 90 gpu-check --device "$device" --n "$check_n"
step lorenz 150 gpu-ensemble --device "$device" --problem lorenz --n "$lorenz_n" --cpu-max-n 100000 --repeats "$repeats"
# the spiral MLP both ways: fused (one thread per trajectory, per-sample steps) and batched (GEMM-shaped kernels over
# the batch, one shared step sequence), each against the matching CPU runtime mode
step spiral 110 gpu-ensemble --device "$device" --problem spiral --strategy both --n "$spiral_n" --cpu-max-n 100000 --repeats "$repeats"
step lorenz-adjoint 110 gpu-ensemble --device "$device" --problem lorenz --gradient adjoint --n "$lorenz_n" --cpu-max-n 10000 --repeats "$repeats"
step spiral-adjoint 60 gpu-ensemble --device "$device" --problem spiral --gradient adjoint --n "$spiral_n" --cpu-max-n 10000 --repeats "$repeats"
rm -rf "$dir"
log "run.sh: done in ${SECONDS}s"
