import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import eepart_fast  # noqa: E402

AVAILABLE = [name for name, info in eepart_fast.backends().items() if info["available"]]
FAST = [b for b in AVAILABLE if b != "numpy"]


def gpu_visible() -> bool:
    info = eepart_fast.backends()
    return info["cuda"]["available"] or info["cupy"]["available"]


@pytest.fixture(autouse=True)
def _sys_path_kept():
    """sys.path as it was before each test: a test that imports a script (experiments/, tools/) may extend it,
    and later tests hand sys.path to child processes as PYTHONPATH, where a source tree ahead of the
    installed package (no compiled engine in it) would fail their import."""
    saved = list(sys.path)
    yield
    sys.path[:] = saved


def pytest_collection_modifyitems(config, items):
    if gpu_visible():
        return
    skip = pytest.mark.skip(reason="no CUDA device visible")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(params=AVAILABLE)
def backend(request):
    """Each backend available here, the reference included."""
    return request.param


@pytest.fixture(params=FAST)
def fast_backend(request):
    """Each compiled or GPU backend available here (compared against the numpy reference)."""
    return request.param


@pytest.fixture(scope="module")
def one_torch_thread():
    """Torch on one thread for a module's tests (timings and results independent of the machine's cores),
    its setting restored after."""
    torch = pytest.importorskip("torch", reason="needs the train extra: pip install 'eepart_fast[train]'")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def profile_file(tmp_path):
    """The worked example's profile as a file, for the command line."""
    from test_worked_example import spec_profile
    path = tmp_path / "spec.json"
    spec_profile().save(path)
    return str(path)
