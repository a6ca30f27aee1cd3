#!/usr/bin/env bash
# Compiles cuda/src/main/cuda/*.cu for the GPU backend (run by the Maven build, generate-resources):
#   PTX for compute_90 (loaded by any newer driver, JIT-compiled for the card) and a cubin for sm_90 (H100/H200),
#   into OUT/dev/baton/cuda/kernels/, with ptxas's resource report (-v) beside them as ptxas.txt.
# Fails the build when ptxas reports a spill (a kernel that needs local memory for registers: rework it).
# Without nvcc the module still builds: OUT/dev/baton/cuda/kernels/unavailable.txt says why, and the backend
# reports the GPU backend unavailable with that reason.
# Usage: cuda/build-kernels.sh SRC_DIR OUT_DIR [REPORT]
set -euo pipefail
src=$1
out=$2/dev/baton/cuda/kernels
report=${3:-$2/ptxas.txt}
mkdir -p "$out"
rm -f "$out"/*
nvcc=${NVCC:-}
if [[ -z $nvcc ]]; then
    nvcc=$(command -v nvcc || true)
fi
if [[ -z $nvcc ]]; then
    for c in /usr/local/cuda/bin/nvcc /usr/local/cuda-*/bin/nvcc; do
        [[ -x $c ]] && nvcc=$c && break
    done
fi
if [[ -z $nvcc ]]; then
    echo "nvcc was not found (PATH, /usr/local/cuda*/bin): the kernels were not compiled" | tee "$out/unavailable.txt"
    exit 0
fi
version=$("$nvcc" --version | sed -n 's/.*release \([0-9.]*\).*/\1/p')
flags=(-O3 -std=c++17)
: >"$report"
for cu in "$src"/*.cu; do
    name=$(basename "$cu" .cu)
    "$nvcc" "${flags[@]}" -arch=compute_90 -ptx -o "$out/$name.ptx" "$cu"
    "$nvcc" "${flags[@]}" -arch=sm_90 -cubin -Xptxas -v -o "$out/$name.sm_90.cubin" "$cu" 2>>"$report"
    echo "$name.ptx" >>"$out/index.txt"
done
cp "$report" "$out/ptxas.txt"
echo "nvcc $version" >"$out/nvcc.txt"
# every kernel's registers, stack and spills; no spills allowed
spills=$(awk '/Compiling entry function/ { fn = $7 } / spill stores/ && ($5 != 0 || $9 != 0) { print fn ": " $0 }' "$report")
if [[ -n $spills ]]; then
    echo "ptxas reports spills (see $report):" >&2
    echo "$spills" >&2
    exit 1
fi
kernels=$(grep -c "Compiling entry function" "$report" || true)
echo "compiled $kernels kernels with nvcc $version (no spills): $out"
