#!/usr/bin/env bash
# Developer build: compiles the extension modules into build/dev and copies them, and the CuPy kernel
# source, next to the Python sources, so `PYTHONPATH=python` runs the working tree. One build at a time
# (flock). EEPART_FAST_CUDA=ON|AUTO adds the CUDA module, EEPART_FAST_EMULATOR=ON the host-emulated one
# (_cuda_emu), EEPART_FAST_CPP_TESTS=ON the C++ tests of the core (build/dev/core_tests).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
exec 9>/tmp/eepart_fast_dev_build.lock
flock 9
cmake -S . -B build/dev -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -Dpybind11_DIR="$($PY -m pybind11 --cmakedir)" -DPython_EXECUTABLE="$(command -v $PY)" \
  -DEEPART_FAST_CUDA="${EEPART_FAST_CUDA:-OFF}" -DEEPART_FAST_EMULATOR="${EEPART_FAST_EMULATOR:-OFF}" \
  -DEEPART_FAST_CPP_TESTS="${EEPART_FAST_CPP_TESTS:-OFF}" >/dev/null
cmake --build build/dev -j2
# Copy to a new file and rename: overwriting a loaded .so in place crashes the processes that use it.
install_file() { cp "$1" "$2/.$(basename "$1").tmp" && mv -f "$2/.$(basename "$1").tmp" "$2/$(basename "$1")"; }
for so in build/dev/_core*.so build/dev/cpp/cuda/_cuda*.so build/dev/cpp/cuda/emu/_cuda_emu*.so; do
  [ -e "$so" ] && install_file "$so" python/eepart_fast
done
mkdir -p python/eepart_fast/cuda
install_file cpp/cuda/kernels/kernels.cuh python/eepart_fast/cuda
true
