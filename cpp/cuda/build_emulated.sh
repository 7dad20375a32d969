#!/usr/bin/env bash
# Builds the GPU engine for the host: kernels on the SIMT emulator of emu.hpp, device memory in host
# memory. The module is `eepart_fast._cuda_emu`; the `cuda` backend loads it instead of `_cuda` when
# EEPART_FAST_CUDA_MODULE=_cuda_emu. For testing the GPU code on machines without a GPU: slow, small
# instances only. Usage: cpp/cuda/build_emulated.sh [python]. The module lands in python/eepart_fast/,
# or in EMU_DEST (say, an installed eepart_fast's folder).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${1:-${PYTHON:-python3}}
SUFFIX=$($PY -c "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))")
OUT=${EMU_DEST:-python/eepart_fast}/_cuda_emu$SUFFIX
mkdir -p build/emu
objs=()
for src in cpp/cuda/bind_cuda.cpp cpp/cuda/cuda_evaluate.cpp cpp/cuda/cuda_sweep.cpp cpp/cuda/cuda_pareto.cpp cpp/cuda/cuda_pareto_fused.cpp \
           cpp/cuda/device_emu.cpp cpp/cuda/launch_emu.cpp cpp/bind_tables.cpp cpp/configs.cpp; do
  obj=build/emu/$(basename "$src").o
  if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ -n "$(find cpp python/eepart_fast/cuda -newer "$obj" \( -name '*.hpp' -o -name '*.cuh' -o -name '*.cu' \) | head -1)" ]; then
    g++ -std=c++17 -O1 -g -fPIC -ffp-contract=off -fvisibility=hidden -Wall -Wno-unknown-pragmas $($PY -m pybind11 --includes) \
      -Icpp -Icpp/cuda -DEEPART_EMULATE=1 -DEEPART_CUDA_MODULE=_cuda_emu -DEEPART_CUDA_EMULATED=1 \
      -c "$src" -o "$obj" &
  fi
  objs+=("$obj")
done
wait
g++ -shared -o "$OUT" "${objs[@]}"
echo "built $OUT"
