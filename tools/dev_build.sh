#!/usr/bin/env bash
# Developer build: compiles the extension modules into build/dev and copies them next to the Python
# sources, so `PYTHONPATH=python` runs the working tree. One build at a time (flock).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
exec 9>/tmp/eepart_fast_dev_build.lock
flock 9
cmake -S . -B build/dev -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -Dpybind11_DIR="$($PY -m pybind11 --cmakedir)" -DPython_EXECUTABLE="$(command -v $PY)" \
  -DSKBUILD_PROJECT_NAME=eepart_fast -DSKBUILD_PROJECT_VERSION=0.1.0 \
  -DEEPART_FAST_CUDA="${EEPART_FAST_CUDA:-OFF}" >/dev/null
cmake --build build/dev -j2
# Copy to a new file and rename: overwriting a loaded .so in place crashes the processes that use it.
install_module() { cp "$1" "python/eepart_fast/.$(basename "$1").tmp" && mv -f "python/eepart_fast/.$(basename "$1").tmp" "python/eepart_fast/$(basename "$1")"; }
for so in build/dev/_core*.so build/dev/cpp/cuda/_cuda*.so; do
  [ -e "$so" ] && install_module "$so"
done
true
