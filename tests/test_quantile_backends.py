"""Tail latency on every backend: evaluate, sweep and pareto with `quantile` against the NumPy reference,
bit for bit (the operations are the reference's, in its order), and the mean unchanged.

Every available backend is tested, and the `cuda` backend on the host emulator when the build has it
(_cuda_emu): the same kernels and host code, so the GPU copy of the rule is held to the reference here
even without a GPU. The instances are small (the emulator is slow) and chosen for the rule's corners:
early exits slower than later ones (large result costs on some tiers), exits with no share, ties between
exit latencies (costs on a grid of quarters), and shares tallied in hundredths, where q = 0.99 is reached
only up to rounding.
"""
import importlib.util
import os

import numpy as np
import pytest

from eepart_fast.engine import reference
from eepart_fast.engine.backends import cupy as _backend_cupy
from eepart_fast.engine.registry import _probe, backends
from eepart_fast.model.tables import CostTables

INTS = ("threshold_index", "num_partitions", "partitions", "placement")
QUANTILES = (None, 1e-9, 0.25, 0.5, 0.9, 0.99, 1.0)


def _emulated_cuda():
    """A second instance of the `cuda` backend module on the emulated engine, or None without one."""
    if importlib.util.find_spec("eepart_fast._cuda_emu") is None:
        return None
    spec = importlib.util.find_spec("eepart_fast.engine.backends.cuda")
    before = os.environ.get("EEPART_FAST_CUDA_MODULE")
    os.environ["EEPART_FAST_CUDA_MODULE"] = "_cuda_emu"
    try:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        if before is None:
            del os.environ["EEPART_FAST_CUDA_MODULE"]
        else:
            os.environ["EEPART_FAST_CUDA_MODULE"] = before
    return module if module._cuda is not None else None


def _modules():
    found = {name: _probe(name)[0] for name, info in backends().items() if info["available"] and name != "numpy"}
    if "cuda" not in found and (emu := _emulated_cuda()) is not None:
        found["cuda_emu"] = emu
    return found


MODULES = _modules()


@pytest.fixture(params=sorted(MODULES) or ["none"])
def module(request):
    if request.param == "none":
        pytest.skip("no compiled backend here")
    return MODULES[request.param]


def random_tables(seed: int, N: int, M: int, K: int, grid: bool) -> CostTables:
    """Costs on a grid of quarters (ties between exits) or uniform; results large on some tiers (early
    exits there slower than later ones); exit shares in hundredths, some branches with none."""
    rng = np.random.default_rng(seed)

    def cost(shape, scale):
        return rng.integers(0, 4, shape) * 0.25 * scale if grid else rng.uniform(0, scale, shape)

    block = cost((M, N), 1.0)
    compute = np.zeros((M, N + 1, N + 1))
    for p in range(N + 1):
        for q in range(p + 1, N + 1):
            compute[:, p, q] = block[:, p:q].sum(axis=1)
    forward = cost((N, M, M), 1.0)
    for a in range(M):
        forward[:, a, a] = 0.0
    forward[N - 1] = 0.0  # block N's output is never sent
    result = cost(M, 1.0) + np.where(rng.random(M) < 0.5, 4.0, 0.0)
    weights = rng.random((K, N)) * (rng.random((K, N)) < 0.7)  # some branches let nobody leave
    weights[:, -1] += 0.1
    counts = np.array([rng.multinomial(100, w / w.sum()) for w in weights])
    cum = np.zeros((K, N + 1))
    cum[:, 1:] = np.cumsum(counts / 100, axis=1)  # tallied rates, summed as a profile's are
    cum[:, N] = 1.0
    accuracy = rng.uniform(0.1, 1.0, (K, N) if seed % 2 else N)
    return CostTables(cost(M, 1.0), compute, forward, result, cum, accuracy)


CASES = [(seed, N, M, K, grid) for seed, (N, M, K), grid in
         [(0, (5, 3, 2), True), (1, (4, 4, 1), False), (2, (6, 3, 1), True), (3, (3, 2, 2), False),
          (4, (5, 4, 1), True)]]


@pytest.fixture(params=CASES, ids=[f"seed{c[0]}" for c in CASES])
def tables(request):
    return random_tables(*request.param)


def every_configuration(tables):
    rows = reference.sweep(tables)
    return tuple(rows[c] for c in INTS)


def assert_rows_equal(got, want):
    assert len(got["latency"]) == len(want["latency"])
    for col in INTS:
        np.testing.assert_array_equal(np.asarray(got[col]), np.asarray(want[col]), err_msg=col)
    np.testing.assert_array_equal(got["latency"], want["latency"])
    np.testing.assert_array_equal(got["accuracy"], want["accuracy"])


def test_the_instances_have_the_corners_the_rule_must_handle():
    """Slower early exits, exits with no share and tied exit latencies all occur in CASES."""
    slower_early = no_share = ties = False
    for case in CASES:
        tb = random_tables(*case)
        ell, share = reference.exit_latencies(tb, *every_configuration(tb))
        L = every_configuration(tb)[1]
        for i in range(len(L)):
            e, s = ell[i, :L[i]], share[i, :L[i]]
            slower_early |= bool(np.any(np.diff(e) < 0))
            no_share |= bool(np.any(s == 0))
            ties |= len(np.unique(e)) < len(e)
    assert slower_early and no_share and ties


@pytest.mark.parametrize("quantile", QUANTILES)
def test_evaluate_is_the_reference_bit_for_bit(module, tables, quantile):
    configs = every_configuration(tables)
    lat, acc = module.evaluate(tables, *configs, quantile=quantile)
    want_lat, want_acc = reference.evaluate(tables, *configs, quantile=quantile)
    np.testing.assert_array_equal(lat, want_lat)
    np.testing.assert_array_equal(acc, want_acc)


def test_the_mean_is_unchanged(module, tables):
    """quantile=None is the call without it, bit for bit, and the quantiles are the latencies of exits."""
    configs = every_configuration(tables)
    before = module.evaluate(tables, *configs)
    mean = module.evaluate(tables, *configs, quantile=None)
    np.testing.assert_array_equal(mean[0], before[0])
    np.testing.assert_array_equal(mean[0], reference.evaluate(tables, *configs)[0])
    np.testing.assert_array_equal(module.sweep(tables, quantile=None)["latency"], module.sweep(tables)["latency"])
    ell, _ = reference.exit_latencies(tables, *configs)
    p99 = module.evaluate(tables, *configs, quantile=0.99)[0]
    assert all(p99[i] in ell[i, :configs[1][i]] for i in range(len(p99)))


@pytest.mark.parametrize("quantile", QUANTILES)
def test_sweep_is_the_reference_bit_for_bit(module, tables, quantile):
    every = reference.sweep(tables, quantile=quantile)
    assert_rows_equal(module.sweep(tables, quantile=quantile), every)
    # Bounds: max_latency at a row's latency exactly (inclusive), and below most rows, where the sweep
    # prunes prefixes; min_accuracy at the median.
    lat = np.sort(every["latency"])
    for max_latency in (lat[len(lat) // 2], lat[len(lat) // 10], lat[0]):
        want = reference.sweep(tables, max_latency=max_latency, quantile=quantile)
        assert len(want["latency"]) > 0
        assert_rows_equal(module.sweep(tables, max_latency=max_latency, quantile=quantile), want)
    min_accuracy = float(np.median(every["accuracy"]))
    want = reference.sweep(tables, max_latency=lat[len(lat) // 3], min_accuracy=min_accuracy, quantile=quantile)
    got = module.sweep(tables, max_latency=lat[len(lat) // 3], min_accuracy=min_accuracy, quantile=quantile)
    assert_rows_equal(got, want)


@pytest.mark.parametrize("quantile", (0.5, 0.99))
def test_sweep_seams(module, tables, quantile):
    """The engines' own ways of cutting the work: the CPU's small work items (runs of partitionings split
    between them), the GPU's small chunks and windows (every seam crossed)."""
    want = reference.sweep(tables, max_latency=float(np.median(reference.sweep(tables, quantile=quantile)["latency"])),
                           quantile=quantile)
    bound = {"max_latency": float(want["latency"].max()), "quantile": quantile}
    if hasattr(module, "_core"):
        got = module._core._sweep_tuned(tables, bound["max_latency"], -np.inf, 2**62, 2, np.inf, 0, 7,
                                        quantile=quantile)
    else:
        got = module._cuda.sweep(tables, chunk_items=3, window_rows=5, table_limit=2, **bound)
    assert_rows_equal(got, want)


@pytest.mark.parametrize("quantile", (0.5, 0.99, 1.0))
def test_pareto_is_the_reference_frontier(module, tables, quantile):
    want = reference.pareto(tables, quantile=quantile)
    assert_rows_equal(module.pareto(tables, quantile=quantile), want)
    front = want["latency"]
    bounded = reference.pareto(tables, max_latency=front[len(front) // 2], min_accuracy=0.2, quantile=quantile)
    assert_rows_equal(module.pareto(tables, max_latency=front[len(front) // 2], min_accuracy=0.2, quantile=quantile),
                      bounded)


def tally_tables() -> CostTables:
    """Four partitions on four tiers, exits at 1, 2, 3, 4 s, shares 0.29, 0.35, 0.35, 0.01 tallied as a
    profile's rates are: the first three add up to 0.9899999999999999, not 0.99."""
    N = M = 4
    compute = np.zeros((M, N + 1, N + 1))
    for p in range(N + 1):
        for q in range(p + 1, N + 1):
            compute[:, p, q] = q - p
    cum = np.zeros((1, N + 1))
    cum[0, 1:4] = np.cumsum([0.29, 0.35, 0.35])
    cum[0, 4] = 1.0
    return CostTables(np.zeros(M), compute, np.zeros((N, M, M)), np.zeros(M), cum, np.full(N, 0.5))


@pytest.mark.parametrize("backend", ["numpy", *sorted(MODULES)])
def test_a_share_tallied_to_q_reaches_q(backend):
    tables = tally_tables()
    module = reference if backend == "numpy" else MODULES[backend]
    configs = (np.array([0]), np.array([4]), np.array([[1, 2, 3, 4]]), np.array([[0, 1, 2, 3]]))
    share = reference.exit_latencies(tables, *configs)[1][0]
    assert share[0] + share[1] + share[2] < 0.99  # the tally falls short by rounding only
    for q, want in ((0.99, 3.0), (0.9900001, 4.0), (0.29, 1.0), (0.2900001, 2.0), (1.0, 4.0), (1e-12, 1.0)):
        assert module.evaluate(tables, *configs, quantile=q)[0][0] == want, q


BAD_VALUES = [0, 0.0, -0.5, 1.5, 1 + 1e-15, float("nan"), float("inf"), np.float64(2.0)]
BAD_TYPES = [True, "0.5", b"0.5", 0.5j, [0.5]]


def _calls(module):
    """Each operation of a backend module with one configuration, quantile left to the caller."""
    tables = random_tables(3, 3, 2, 2, False)
    configs = (np.array([0]), np.array([1]), np.array([[1, -1]]), np.array([[0, -1]]))
    return {"evaluate": lambda q: module.evaluate(tables, *configs, quantile=q),
            "sweep": lambda q: module.sweep(tables, quantile=q),
            "pareto": lambda q: module.pareto(tables, quantile=q)}


# cupy's checks come before CuPy is touched, so its errors are tested here without a device.
ERROR_MODULES = {"numpy": reference, "cupy": _backend_cupy, **MODULES}


@pytest.mark.parametrize("name", sorted(ERROR_MODULES))
def test_bad_quantiles_are_refused_alike_everywhere(name):
    for call in _calls(ERROR_MODULES[name]).values():
        for q in BAD_VALUES:
            with pytest.raises(ValueError, match=r"^quantile = .*: must be in \(0, 1\]"):
                call(q)
        for q in BAD_TYPES:
            with pytest.raises(TypeError, match=r"^quantile: expected a number in \(0, 1\], got "):
                call(q)
    # The message shows the value as given, as the reference does.
    with pytest.raises(ValueError, match=r"^quantile = 1\.5: must be in \(0, 1\] \(0\.99 for p99\)$"):
        _calls(ERROR_MODULES[name])["sweep"](1.5)


def test_cupy_kernel_arguments_are_those_of_the_cuda_host_code():
    """The kernels' (quantile, theta): 0 for the mean; else q and one float64 subtraction of the slack."""
    assert _backend_cupy._quantile_args(None) == (0.0, -1e-12)
    q, theta = _backend_cupy._quantile_args(0.99)
    assert q == 0.99 and theta == 0.99 - 1e-12 and isinstance(theta, np.float64)
