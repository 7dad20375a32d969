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
