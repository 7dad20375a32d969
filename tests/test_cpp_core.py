"""The C++ tests of the core's parts (cpp/tests/core_tests.cpp: the staircase, label dominance, the memory
budget, the relaxed bounds, the thread pool, the table rules, each alone against brute force), built by
CMake (-DEEPART_FAST_CPP_TESTS=ON, the one copy of how they are built; tools/sanitize.sh builds the same
target under sanitizers) and run by ctest."""
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _tool(name):
    """A build tool on PATH, or beside this interpreter (the `cmake` and `ninja` wheels of the test extra)."""
    found = shutil.which(name)
    if found is None:
        beside = os.path.join(os.path.dirname(sys.executable), name)
        found = beside if os.access(beside, os.X_OK) else None
    return found


def _pybind11_dir():
    try:
        import pybind11
    except ImportError:
        return None
    return pybind11.get_cmake_dir()


CMAKE = _tool("cmake")


@pytest.mark.skipif(CMAKE is None, reason="no cmake here (pip install cmake, or the test extra)")
@pytest.mark.skipif(_pybind11_dir() is None, reason="no pybind11 here (the project's CMakeLists.txt needs it)")
@pytest.mark.skipif(not os.path.exists(os.path.join(ROOT, "cpp", "tests", "core_tests.cpp")),
                    reason="the C++ sources are not in this checkout")
def test_core_parts(tmp_path):
    build = str(tmp_path / "build")
    ninja = _tool("ninja")
    generator = ["-G", "Ninja", f"-DCMAKE_MAKE_PROGRAM={ninja}"] if ninja else []
    # Debug at -O1: the tests' brute force wants some speed, and Debug skips the link-time optimisation.
    configure = subprocess.run(
        [CMAKE, "-S", ROOT, "-B", build, *generator, "-DCMAKE_BUILD_TYPE=Debug", "-DCMAKE_CXX_FLAGS_DEBUG=-O1",
         "-DEEPART_FAST_CPP_TESTS=ON", "-DEEPART_FAST_CUDA=OFF", f"-Dpybind11_DIR={_pybind11_dir()}",
         f"-DPython_EXECUTABLE={sys.executable}"], capture_output=True, text=True, check=False)
    assert configure.returncode == 0, configure.stdout[-2000:] + configure.stderr[-4000:]
    jobs = str(min(4, os.cpu_count() or 1))
    made = subprocess.run([CMAKE, "--build", build, "--target", "core_tests", "-j", jobs],
                          capture_output=True, text=True, check=False)
    assert made.returncode == 0, made.stdout[-4000:] + made.stderr[-4000:]
    ctest = os.path.join(os.path.dirname(CMAKE), "ctest")
    run = subprocess.run([ctest if os.access(ctest, os.X_OK) else "ctest", "--output-on-failure"], cwd=build,
                         capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    assert "100% tests passed" in run.stdout
