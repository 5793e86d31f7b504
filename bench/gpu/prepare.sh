#!/usr/bin/env bash
# Run HERE (a machine with the .NET 10 SDK and the NuGet packages), before a session's device run: the GPU machine is bare
# (no .NET, no network), so bench/gpu/run.sh runs a self-contained build of the bench that travels as a carried,
# git-ignored path. Publishes bench/OdeDsl.Bench for linux-x64, self-contained, Release, untrimmed (ILGPU compiles
# kernels from the IL of the generated device code at run time: trimming would remove what it reflects over), and packs
# it as .gpu-bundle/bench.tar.xz (xz: Ubuntu base images have it; the device tool carries at most 64 MiB).
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v xz >/dev/null || { echo "prepare.sh: xz not found (apt-get install xz-utils)" >&2; exit 2; }
bundle=.gpu-bundle
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
rm -rf "$bundle" && mkdir -p "$bundle"
nice -n 15 dotnet publish bench/OdeDsl.Bench/OdeDsl.Bench.csproj -c Release -r linux-x64 --self-contained true \
    -p:PublishTrimmed=false -p:PublishSingleFile=false -p:DebugType=none -o "$stage/bench" --nologo -v q
# the publish restores for linux-x64 into obj/; restore again for the RID-less build so `dotnet build` stays as it was
nice -n 15 dotnet restore bench/OdeDsl.Bench/OdeDsl.Bench.csproj -v q >/dev/null
git describe --always --dirty > "$stage/bench/COMMIT" # the build is of the working tree: "-dirty" when it has changes
tar -C "$stage" -cf - bench | xz -6 -T2 > "$bundle/bench.tar.xz"
bytes=$(stat -c %s "$bundle/bench.tar.xz")
echo "bundle: $bundle/bench.tar.xz, $((bytes / 1024 / 1024)) MiB ($bytes bytes; the device tool carries at most 64 MiB)"
[ "$bytes" -lt $((60 * 1024 * 1024)) ] || { echo "prepare.sh: bundle over 60 MiB" >&2; exit 1; }
cat <<'CALL'
Device-tool call (one call; run.sh ends within 540 s on its own):
  run(command="bash bench/gpu/run.sh", carry=[".gpu-bundle"], timeout_s=600)
CALL
