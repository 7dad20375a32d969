#!/usr/bin/env bash
# The GPU check of issue 5, for a lent GPU machine without network, in one go and under 8 minutes:
# builds the package with its CUDA module, runs the GPU tests (energy on the GPU included, and the differential
# suite over every backend), then the GPU benchmarks (sweep throughput of cpu / cupy / cuda, with and without
# energy tables; pareto time of cpu / cuda),
# and writes under $OUT: gpu_check.log (everything), build.log, tests.xml, bench.json (pytest-benchmark),
# gpu_numbers.json (the numbers and the device) and gpu_table.md (the table for README.md).
#
#   OUT=/tmp/out bench/gpu_check.sh           # from the repository root
#   QUICK=1 ...                               # developer run: cmake build for sm_90 only, fewer tests
#
# Each stage has its own time limit; a failed stage is reported and the next ones still run, and the exit
# status is that of the first failure. Needs: python with numpy, pybind11, scikit-build-core, pytest,
# hypothesis, pytest-benchmark (and cupy for the cupy backend), nvcc, cmake, ninja.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/eepart_gpu_check}
mkdir -p "$OUT"
if [ -z "${PYTHON:-}" ]; then
  if [ -x /opt/torch/.venv/bin/python3 ]; then PYTHON=/opt/torch/.venv/bin/python3; else PYTHON=python3; fi
fi
export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
exec > >(tee -a "$OUT/gpu_check.log") 2>&1
status=0
stage() { echo; echo "=== $* [$(date +%T), ${SECONDS}s]"; }
fail() { echo "!!! $*"; [ "$status" -ne 0 ] || status=1; }

stage "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || fail "nvidia-smi"
command -v nvcc && nvcc --version | tail -2
echo "cores: $(nproc)  python: $PYTHON"
$PYTHON -c "import numpy, pybind11; print('numpy', numpy.__version__, 'pybind11', pybind11.__version__)"
$PYTHON -c "import cupy; print('cupy', cupy.__version__)" || echo "cupy: not importable (the cupy backend will be skipped)"

stage "build"
export EEPART_FAST_CUDA=ON CMAKE_BUILD_PARALLEL_LEVEL=$(nproc)
if [ -n "${QUICK:-}" ]; then
  # the dev build of tools/dev_build.sh, one architecture: the module lands next to the sources
  PYPATH=python
  (cmake -S . -B build/gpu_check -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90-real \
      -Dpybind11_DIR="$($PYTHON -m pybind11 --cmakedir)" -DPython_EXECUTABLE="$(command -v $PYTHON)" \
      -DEEPART_FAST_CUDA=ON \
    && timeout 300 cmake --build build/gpu_check -j "$(nproc)" \
    && cp build/gpu_check/_core*.so python/eepart_fast/ && cp build/gpu_check/cpp/cuda/_cuda*.so python/eepart_fast/ \
    && mkdir -p python/eepart_fast/cuda && cp cpp/cuda/kernels/kernels.cuh python/eepart_fast/cuda/) \
    > "$OUT/build.log" 2>&1 || { tail -40 "$OUT/build.log"; fail "build"; }
else
  PYPATH=
  timeout 420 $PYTHON -m pip install --no-build-isolation --no-deps --no-index -v . > "$OUT/build.log" 2>&1 \
    || { tail -40 "$OUT/build.log"; fail "build (pip install)"; }
fi
grep -E "eepart_fast:|CUDA" "$OUT/build.log" | grep -v "^--.*Detecting" | head -5
export PYTHONPATH=$PYPATH
$PYTHON - <<'EOF' || fail "the cuda backend is not available after the build"
import eepart_fast
for name, info in eepart_fast.backends().items():
    print(f"{name:6} {info['available']!s:5} {info['reason']}")
assert eepart_fast.backends()["cuda"]["available"]
EOF

stage "GPU tests"
TESTS="tests/test_gpu.py tests/test_gpu_fused.py tests/test_quantile_backends.py tests/test_energy_gpu.py"
[ -n "${QUICK:-}" ] || TESTS="$TESTS tests/test_differential.py tests/test_worked_example.py"
timeout ${TEST_TIMEOUT:-200} $PYTHON -m pytest -q -p no:cacheprovider -rs $TESTS --junitxml="$OUT/tests.xml" \
  || fail "GPU tests"

stage "benchmarks"
BENCH_K=${BENCH_K:-}
EEPART_BENCH_SUMMARY="$OUT/gpu_numbers.json" timeout ${BENCH_TIMEOUT:-200} $PYTHON -m pytest -q -p no:cacheprovider \
  bench/test_bench_gpu.py ${BENCH_K:+-k "$BENCH_K"} --benchmark-only --benchmark-group-by=group \
  --benchmark-json="$OUT/bench.json" --benchmark-columns=min,median,max,rounds || fail "benchmarks"

stage "table"
$PYTHON - "$OUT/gpu_numbers.json" "$OUT/gpu_table.md" <<'EOF' || fail "table"
import json, sys
d = json.load(open(sys.argv[1]))
lines = [f"Device: {d.get('device', '?')}, {d['cores']} CPU cores.", "",
         "| sweep | configurations | rows kept | cpu (configs/s) | cupy (configs/s) | cuda (configs/s) | cuda / cpu |",
         "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
for case, r in d["sweep"].items():
    any_ = next(iter(r.values()))
    rate = lambda b: f"{r[b]['configs_per_s']:.3g}" if b in r else "-"
    ratio = f"{r['cuda']['configs_per_s'] / r['cpu']['configs_per_s']:.1f}x" if "cuda" in r and "cpu" in r else "-"
    lines.append(f"| {case} | {any_['configurations']:,} | {any_['rows']:,} | {rate('cpu')} | {rate('cupy')} | {rate('cuda')} | {ratio} |")
lines += ["", "| pareto | configurations | points | cpu (ms) | cuda layered (ms) | cuda fused (ms) | cpu / layered | cpu / fused | fused ran |",
          "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
for case, r in d["pareto"].items():
    ms = lambda b: f"{r[b]['seconds'] * 1e3:.3g}" if b in r else "-"
    ratio = lambda b: f"{r['cpu']['seconds'] / r[b]['seconds']:.1f}x" if b in r and "cpu" in r else "-"
    engine = r.get("cuda-fused", {}).get("search", {}).get("engine", "-")
    any_ = r.get("cpu") or r.get("cuda-layered") or {"configurations": 0, "points": 0}
    lines.append(f"| {case} | {any_['configurations']:,} | {any_['points']} | {ms('cpu')} | {ms('cuda-layered')} "
                 f"| {ms('cuda-fused')} | {ratio('cuda-layered')} | {ratio('cuda-fused')} | {engine} |")
open(sys.argv[2], "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
EOF

stage "done, status $status"
exit $status
