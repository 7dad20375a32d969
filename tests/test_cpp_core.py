"""The C++ tests of the core's parts (cpp/tests/core_tests.cpp: the staircase, label dominance, the memory
budget, the relaxed bounds, the thread pool, the table rules, each alone against brute force), compiled
here with the system's C++ compiler and run. CMake builds the same binary for ctest
(-DEEPART_FAST_CPP_TESTS=ON), e.g. under sanitizers."""
import glob
import os
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CXX = os.environ.get("CXX") or shutil.which("c++") or shutil.which("g++") or shutil.which("clang++")


@pytest.mark.skipif(CXX is None, reason="no C++ compiler here")
@pytest.mark.skipif(not os.path.exists(os.path.join(ROOT, "cpp", "tests", "core_tests.cpp")),
                    reason="the C++ sources are not in this checkout")
def test_core_parts(tmp_path):
    sources = [os.path.join(ROOT, "cpp", "tests", "core_tests.cpp")]
    sources += sorted(glob.glob(os.path.join(ROOT, "cpp", "core", "*.cpp")))
    sources += sorted(glob.glob(os.path.join(ROOT, "cpp", "core", "search", "*.cpp")))
    exe = str(tmp_path / "core_tests")
    build = subprocess.run([CXX, "-std=c++17", "-O1", "-ffp-contract=off", "-I", os.path.join(ROOT, "cpp", "core"),
                            *sources, "-o", exe, "-pthread"], capture_output=True, text=True, check=False)
    assert build.returncode == 0, build.stderr[-4000:]
    run = subprocess.run([exe], capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stdout + run.stderr[-4000:]
    assert "core tests passed" in run.stdout
