"""The cupy backend's host side without a GPU: a NumPy stand-in for CuPy records every kernel launch of
evaluate and sweep (energy or not), and each launch's arguments are held to the kernel's parameters as
kernels.cuh declares them (count, and per parameter a pointer of its element type or a scalar of its type).
The kernels themselves run only on a device (tests/test_energy_gpu.py, tests/test_gpu.py); what this file
catches is a launch that no longer matches its kernel. Also cupy's energy errors, which come before any
device work, against the cpu backend's."""
import re
import sys
import types
from importlib import resources

import numpy as np
import pytest

import eepart_fast as ef
from eepart_fast import _core
from eepart_fast.engine.backends import cupy as cupy_backend
from eepart_fast.model.energy import energy_tables

# kernels.cuh's C types as NumPy dtypes (pointers: the arrays' element types; scalars: the scalars' types).
C_TYPES = {"double": np.float64, "int": np.int32, "eep_u64": np.uint64, "eep_i64": np.int64}


def parameters(kernel: str) -> list:
    """(dtype, is_pointer) of each parameter of `kernel` in kernels.cuh."""
    text = (resources.files("eepart_fast") / "cuda" / "kernels.cuh").read_text()
    params = re.search(rf"\b{kernel}\(([^)]*)\)\s*{{", text).group(1)
    out = []
    for p in params.split(","):
        words = p.replace("const ", "").split()
        out.append((C_TYPES[words[0].rstrip("*")], "*" in p))
    return out


class _Array(np.ndarray):
    """A NumPy array standing in for a CuPy one: .get() copies to the host, and items stay arrays."""

    def get(self):
        return np.array(self)

    def __getitem__(self, key):
        item = super().__getitem__(key)
        return item.view(_Array) if isinstance(item, np.ndarray) else np.asarray(item).view(_Array)


class _Launches:
    """A RawModule stand-in: each kernel records its launches; the count pass reports one kept row for the
    first item of each launch, so that the write pass runs too."""

    def __init__(self):
        self.calls = []

    def module(self, code, options=(), name_expressions=None):
        launches = self

        class Module:
            def get_function(self, name):
                def kernel(grid, block, args):
                    launches.calls.append((name, args))
                    if name.startswith("eep_sweep") and ", 0," in name:  # the count pass: its counts argument
                        counts = args[14]
                        counts[:] = 0
                        counts[0] = 1
                return kernel
        return Module()


@pytest.fixture
def launches(monkeypatch):
    record = _Launches()
    fake = types.SimpleNamespace(
        RawModule=record.module,
        asarray=lambda a, dtype=None: np.array(a, dtype=dtype).view(_Array),
        empty=lambda shape, dtype=np.float64: np.zeros(shape, dtype=dtype).view(_Array),
        zeros=lambda shape, dtype=np.float64: np.zeros(shape, dtype=dtype).view(_Array),
        cumsum=lambda a: np.cumsum(np.asarray(a)).view(_Array),
    )
    monkeypatch.setitem(sys.modules, "cupy", fake)
    monkeypatch.setattr(cupy_backend, "_state", {})
    return record


def assert_matches_kernel(name: str, args: tuple):
    kernel = name.split("<")[0]
    params = parameters(kernel)
    assert len(args) == len(params), f"{name}: {len(args)} arguments for {len(params)} parameters"
    for i, (arg, (dtype, pointer)) in enumerate(zip(args, params)):
        if pointer:
            assert isinstance(arg, np.ndarray) and arg.dtype == dtype, f"{name} argument {i}: {arg!r} for {dtype}*"
        else:
            assert type(arg) is dtype, f"{name} argument {i}: {type(arg).__name__} for {dtype.__name__}"


def shipped():
    profile, topo = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile-energy")
    return ef.cost_tables(profile, topo), energy_tables(profile, topo, energy_tiers="all")


@pytest.mark.parametrize("with_energy", [False, True])
def test_launches_match_the_kernels(launches, with_energy):
    tables, energy = shipped()
    kw = {"energy": energy} if with_energy else {}
    out = cupy_backend.evaluate(tables, [0, 3], [1, 2], [[10, -1], [4, 10]], [[0, -1], [1, 2]], quantile=0.9, **kw)
    assert len(out) == (3 if with_energy else 2)
    rows = cupy_backend.sweep(tables, min_accuracy=0.9, chunk_items=64, window_rows=3, table_limit=1,
                              **({"max_energy": 0.5} if with_energy else {}), **kw)
    assert ("energy" in rows) == with_energy
    names = {name for name, _ in launches.calls}
    assert "eep_evaluate" in names
    flag = int(with_energy)
    assert {f"eep_sweep<{L}, {w}, {flag}>" for L in (1, 2, 3, 4) for w in (0, 1)} <= names
    assert not any(n.endswith(f", {1 - flag}>") for n in names)  # one instantiation per call: energy or not
    for name, args in launches.calls:
        assert_matches_kernel(name, args)
    # evaluate launched twice with energy (the second on the energy tables), once without.
    assert sum(n == "eep_evaluate" for n, _ in launches.calls) == 1 + flag


def test_energy_errors_are_the_cpu_backends(launches):
    tables, energy = shipped()
    for backend in (_core, cupy_backend):
        with pytest.raises(ValueError, match=r"max_energy: the tables carry no energy tables \(give energy="):
            backend.sweep(tables, max_energy=1.0)
        with pytest.raises(ValueError, match="max_energy = nan: must be a number"):
            backend.sweep(tables, max_energy=float("nan"), energy=energy)
        with pytest.raises(TypeError, match="max_energy: expected a number"):
            backend.sweep(tables, max_energy="1", energy=energy)
        bad = energy.result_energy.copy()
        bad[1] = -2.0
        with pytest.raises(ValueError, match=r"result_energy\[1\] = -2"):
            backend.evaluate(tables, [0], [1], [[10]], [[0]], energy=energy._replace(result_energy=bad))
    assert launches.calls == []  # refused before any launch
