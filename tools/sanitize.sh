#!/usr/bin/env bash
# The C++ core under AddressSanitizer + UndefinedBehaviorSanitizer: builds _core and the C++ tests with
# CMake's EEPART_FAST_SANITIZE into their own folder (build/asan), stages the Python package beside it, and
# runs the C++ tests (ctest) and the Python suite without the `train` and `gpu` tests against it. Any sanitizer report fails
# the run (UB aborts: -fno-sanitize-recover).
#
#   bash tools/sanitize.sh [pytest args...]      (PYTHON=... picks the interpreter; needs gcc or clang)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
BUILD=build/asan
start=$(date +%s)

generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
# The flags and the C++ tests are CMake's (EEPART_FAST_SANITIZE, EEPART_FAST_CPP_TESTS): one build rule.
cmake -S . -B "$BUILD" "${generator[@]}" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O${SAN_OPT:-0} -g" \
  -DEEPART_FAST_SANITIZE=ON -DEEPART_FAST_CPP_TESTS=ON \
  -Dpybind11_DIR="$($PY -m pybind11 --cmakedir)" -DPython_EXECUTABLE="$(command -v "$PY")" \
  -DEEPART_FAST_CUDA=OFF >/dev/null
cmake --build "$BUILD" -j"${JOBS:-2}" --target _core
echo "sanitize: built in $(( $(date +%s) - start )) s"

# The package as sources plus the sanitized module, ahead of any installed copy on PYTHONPATH.
rm -rf "$BUILD/pkg" && mkdir -p "$BUILD/pkg"
cp -r python/eepart_fast "$BUILD/pkg/"
find "$BUILD/pkg/eepart_fast" -name '*.so' -delete
cp "$BUILD"/_core*.so "$BUILD/pkg/eepart_fast/"
# The CuPy kernel source, installed from cpp/cuda/kernels as package data (CMakeLists.txt) and absent from a
# clean source tree.
mkdir -p "$BUILD/pkg/eepart_fast/cuda" && cp cpp/cuda/kernels/kernels.cuh "$BUILD/pkg/eepart_fast/cuda/"
# Torch (and triton) abort under an ASan-preloaded interpreter; the tests that need it are `train` tests,
# which import it through pytest.importorskip: a stub that refuses to import skips them.
mkdir -p "$BUILD/pkg/torch"
echo 'raise ModuleNotFoundError("torch is not loaded under the sanitizers (tools/sanitize.sh)")' > "$BUILD/pkg/torch/__init__.py"

CXX_BIN=$(cmake -LA -N "$BUILD" 2>/dev/null | sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p')
LIBASAN=$("${CXX_BIN:-g++}" -print-file-name=libasan.so)
[ -e "$LIBASAN" ] || { echo "sanitize: libasan.so not found next to ${CXX_BIN:-g++}"; exit 1; }
# libstdc++ preloaded too: ASan must find __cxa_throw when it starts, and python does not link libstdc++.
LIBSTDCXX=$("${CXX_BIN:-g++}" -print-file-name=libstdc++.so)
# Python itself is not built with ASan: its allocations are reported as leaks, so leak checking is off.
export LD_PRELOAD="$LIBASAN $LIBSTDCXX"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:detect_stack_use_after_return=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export EEPART_FAST_SANITIZED=1

cmake --build "$BUILD" -j"${JOBS:-2}" --target core_tests
(cd "$BUILD" && ctest --output-on-failure)
echo "sanitize: C++ tests passed"

PYTHONPATH="$PWD/$BUILD/pkg${PYTHONPATH:+:$PYTHONPATH}" "$PY" -c \
  'import eepart_fast._core as c, sys; assert "/build/asan/pkg/" in c.__file__, c.__file__'
PYTHONPATH="$PWD/$BUILD/pkg${PYTHONPATH:+:$PYTHONPATH}" "$PY" -m pytest -q -p no:cacheprovider \
  -m "not train and not gpu and not large" "$@" tests
# The raw engine fuzzed against the sanitized core: memory errors that would not crash are reported here.
PYTHONPATH="$PWD/$BUILD/pkg${PYTHONPATH:+:$PYTHONPATH}" "$PY" tools/fuzz.py --parts core \
  --seconds "${EEPART_FAST_SANITIZE_FUZZ_SECONDS:-45}" --seed 1
echo "sanitize: done in $(( $(date +%s) - start )) s"
