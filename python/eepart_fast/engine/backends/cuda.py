"""The `cuda` backend: the compiled GPU engine `eepart_fast._cuda` (built when nvcc was found).

Same evaluate / sweep / pareto as the `cpu` backend, on the cost tables, in float64, bit for bit the same
sums; evaluate and sweep take energy tables (energy=, max_energy) as the `cpu` backend does, and the search
does not (docs/backends.md). Availability: `available()` -> (bool, reason); it never raises, and never
touches the device beyond counting devices.
"""
from __future__ import annotations

import importlib
import os

import numpy as np

import eepart_fast._core as _core  # by name: `from ... import` reads as importing the whole package

from .._pareto_by_sweep import pareto_by_sweep
from ._no_energy import refuse_energy

# Developer hook: EEPART_FAST_CUDA_MODULE=_cuda_emu loads the host-emulated build of the same engine
# (CMake option EEPART_FAST_EMULATOR), to run the GPU code paths on a machine without a GPU.
_MODULES = ("_cuda", "_cuda_emu")
_NAME = os.environ.get("EEPART_FAST_CUDA_MODULE", "_cuda").strip() or "_cuda"

_cuda = None
_error = None
if _NAME not in _MODULES:
    _error = f"EEPART_FAST_CUDA_MODULE = {_NAME!r}: must be one of {', '.join(_MODULES)}"
else:
    try:
        _cuda = importlib.import_module(f"eepart_fast.{_NAME}")
    except ModuleNotFoundError as exc:
        if exc.name == f"eepart_fast.{_NAME}":
            _error = ("not built: this install has no eepart_fast._cuda (built only where nvcc is found; "
                      "reinstall with EEPART_FAST_CUDA=ON to require it)")
        else:
            _error = f"eepart_fast.{_NAME} failed to load: {exc}"
    except ImportError as exc:
        _error = f"eepart_fast.{_NAME} failed to load: {exc}"

DEFAULT_MAX_MEMORY = _core.DEFAULT_DEVICE_MEMORY  # device bytes the pareto search may hold


def available():
    """(True, 'available: <device>') or (False, why not): not built, failed to load, or no device."""
    if _cuda is None:
        return False, _error
    try:
        n = _cuda.device_count()
    except Exception as exc:  # a broken driver must not break the other backends
        return False, f"CUDA runtime error: {exc}"
    if n == 0:
        return False, "no CUDA device visible (no NVIDIA driver, no GPU, or CUDA_VISIBLE_DEVICES hides it)"
    return True, f"available: {_cuda.device_name()}"


def device_name() -> str:
    return _cuda.device_name() if _cuda is not None else ""


# The compiled functions themselves (the Backend Protocol's arguments, by the same names), as in cpu.py;
# a stand-in that says why when the module is absent.
def _unavailable(*args, **kwargs):
    raise RuntimeError(f"the cuda backend is unavailable: {_error}")


evaluate = _cuda.evaluate if _cuda is not None else _unavailable
sweep = _cuda.sweep if _cuda is not None else _unavailable


# The search engine the backend runs. "layered" has run on a GPU (bench/results/gpu_check_h100.*);
# "auto" (the one-launch engine, falling back to the layered one) has passed the same tests only on the
# host emulator so far: it becomes the default once bench/gpu_check.sh has passed with it on a device.
PARETO_ENGINE = "layered"


def pareto(tables, min_accuracy=-np.inf, max_latency=np.inf, threads=0, max_memory=DEFAULT_MAX_MEMORY,
           time_limit=np.inf, quantile=None, max_energy=np.inf, objectives=2, energy=None):
    """The device search; with `quantile`, no device search: this backend's sweep bounded a priori by the
    most accurate single-partition plan, then frontier_indices (_pareto_by_sweep). Exact either way;
    max_memory then caps the swept rows held on the host. Energy refused (docs/backends.md)."""
    refuse_energy("cuda", tables, energy, max_energy, objectives)
    if quantile is not None:
        return pareto_by_sweep(sweep, evaluate, tables, min_accuracy, max_latency, quantile, max_memory=max_memory,
                               threads=threads, time_limit=time_limit)
    return _cuda.pareto(tables, min_accuracy=min_accuracy, max_latency=max_latency, threads=threads,
                        max_memory=max_memory, time_limit=time_limit, engine=PARETO_ENGINE)


def min_energy(tables, *args, energy=None, **kwargs):
    """Refused: the device search carries no energy (docs/backends.md)."""
    refuse_energy("cuda", tables, energy, objectives=1)
