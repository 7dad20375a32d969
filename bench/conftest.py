"""Every benchmark records the machine's load average before and after it (extra_info "load_average" and
"load_average_after", 1/5/15 minutes), so a saved run says how busy the machine was; bench/report.py shows it."""
from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _load_average(request):
    if "benchmark" not in request.fixturenames:
        yield
        return
    benchmark = request.getfixturevalue("benchmark")
    benchmark.extra_info.setdefault("load_average", list(os.getloadavg()))
    yield
    benchmark.extra_info["load_average_after"] = list(os.getloadavg())
