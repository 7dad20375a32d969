"""The compiled engines under hostile use (issue 12): thread counts, threads that cannot start, arrays
changed by another thread while the engine runs, costs no configuration reads or that would overflow,
time limits, and the memory cap of the search against the process's real peak memory.

Crashing reproducers run in a subprocess, so that a crash fails the test instead of ending the run.
"""
import os
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import eepart_fast as ef
from eepart_fast import _core
from eepart_fast.engine import reference

from _instances import random_profile, random_topology

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def compiled_modules():
    mods = [_core]
    try:  # the host-emulated GPU engine, where it was built (EEPART_FAST_EMULATOR=ON): same bindings
        from eepart_fast import _cuda_emu
        mods.append(_cuda_emu)
    except ImportError:
        pass
    return mods


def small_tables(seed=0, N=6, M=3, K=2):
    rng = np.random.default_rng(seed)
    return ef.cost_tables(random_profile(rng, N, K), random_topology(rng, M))


def run_python(code, timeout=300):
    """Runs `code` in a fresh interpreter with the package of this checkout; returns (returncode, output)."""
    # The package these tests imported (installed, or the source tree under PYTHONPATH=python), not the
    # source tree by path: an installed run has no compiled modules there.
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(ef.__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([package_parent, os.path.join(ROOT, "tests"),
                                                       os.environ.get("PYTHONPATH", "")]))
    p = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=timeout,
                       check=False,
                       env=env, cwd=ROOT)
    return p.returncode, p.stdout + p.stderr


def identical_tiers(N=100, M=16, K=1, seed=0):
    """The search's worst case: M identical tiers joined by free links (labels grow like N M 2^M)."""
    rng = np.random.default_rng(seed)
    topo = ef.Topology([f"t{j}" for j in range(M)], np.ones(M), np.zeros((M, M)), np.zeros((M, M)))
    return ef.cost_tables(random_profile(rng, N, K), topo)


# --- threads -------------------------------------------------------------------------------------

@pytest.mark.parametrize("module", compiled_modules(), ids=lambda m: m.__name__.rsplit(".", 1)[-1])
@pytest.mark.parametrize("call", ["evaluate", "sweep", "pareto"])
def test_threads_are_bounded_and_checked_alike(module, call):
    tables = module.Tables(*small_tables())
    cfg = (np.array([0]), np.array([1]), np.array([[2]]), np.array([[0]]))

    def run(threads):
        if call == "evaluate":
            return module.evaluate(tables, *cfg, threads=threads)
        return getattr(module, call)(tables, threads=threads)

    for bad in (-1, 1025, 10**30, -(10**30)):
        with pytest.raises(ValueError, match=rf"threads = {bad}: must be in 0..1024 \(0: one per core\)"):
            run(bad)
    for bad in (True, 1.5, "2"):
        with pytest.raises(TypeError, match="threads: expected an integer"):
            run(bad)
    for ok in (0, 1, np.int64(3), 1024):
        run(ok)


def test_a_thread_that_cannot_start_is_an_error_not_an_abort():
    """Under an address-space limit only a few of 1000 threads start: before, the process aborted
    ("terminate called without an active exception", exit 134)."""
    code = """
        import resource
        import numpy as np
        import eepart_fast as ef
        from eepart_fast import _core
        from _instances import random_profile, random_topology
        rng = np.random.default_rng(0)
        tb = ef.cost_tables(random_profile(rng, 12, 100), random_topology(rng, 4))
        tables = _core.Tables(*tb._replace(cum_exit=np.tile(tb.cum_exit, (10, 1))))  # K = 1000 thresholds
        size = [int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith("VmSize")][0]
        resource.setrlimit(resource.RLIMIT_AS, (size + (256 << 20),) * 2)  # room for ~30 thread stacks
        for call in (lambda: _core.sweep(tables, max_latency=0.0, threads=1000),
                     lambda: _core.pareto(tables, threads=1000)):
            try:
                call()
                print("finished")
            except RuntimeError as e:
                print("RuntimeError:", e)
        print("alive")
    """
    rc, out = run_python(code)
    assert rc == 0, out
    assert out.count("RuntimeError: could not start worker thread") + out.count("finished") == 2, out
    assert "RuntimeError: could not start worker thread" in out and "lower `threads`" in out, out
    assert out.rstrip().endswith("alive")


# --- arrays written by another thread while the engine runs -------------------------------------

def test_configurations_written_during_evaluate_never_crash():
    """Another thread writes out-of-range block counts into the rows while evaluate runs without the GIL:
    before, the engine read them after its check and crashed (segfault, 3 runs in 5). Now each chunk is
    copied, then checked: the call finishes, or names a bad entry."""
    code = """
        import threading
        import numpy as np
        import eepart_fast as ef
        from eepart_fast import _core
        from eepart_fast.planning.plot import sample_configs
        from eepart_fast.model.configs import pack_configs
        from _instances import random_profile, random_topology
        rng = np.random.default_rng(1)
        N, M, K = 200, 16, 2
        tables = _core.Tables(*ef.cost_tables(random_profile(rng, N, K), random_topology(rng, M)))
        t, L, P, A = pack_configs(sample_configs(N, M, K, 4000, rng), N, M, K)
        reps = 150  # 600,000 rows
        t, L, P, A = np.tile(t, reps), np.tile(L, reps), np.tile(P, (reps, 1)), np.tile(A, (reps, 1))
        bad = np.full_like(P, 10**12)
        for run in range(5):
            stop = threading.Event()
            def writer():
                while not stop.is_set():
                    np.copyto(P, bad)
            w = threading.Thread(target=writer)
            w.start()
            try:
                _core.evaluate(tables, t, L, P, A, threads=2)
                print("finished")
            except ValueError as e:
                assert "partitions[" in str(e), e
                print("ValueError")
            finally:
                stop.set()
                w.join()
        print("alive")
    """
    rc, out = run_python(code)
    assert rc == 0, out
    assert out.rstrip().endswith("alive"), out


def test_tables_written_during_pareto_give_the_answer_of_one_of_them():
    """Another thread switches input_cost between two tables while pareto runs: before, the search read
    the table as it changed and returned neither frontier (15-347 points instead of 353). Now the tables
    are copied when the call begins: every answer is the exact frontier of one of the two."""
    rng = np.random.default_rng(5)
    tables = ef.cost_tables(random_profile(rng, 40, 10, rising_accuracy=True), random_topology(rng, 5))
    inputs = [tables.input_cost.copy(), tables.input_cost + 0.05]
    want = [_core.pareto(tables._replace(input_cost=x)) for x in inputs]
    assert want[0]["latency"].size > 100 and not np.array_equal(want[0]["latency"], want[1]["latency"])
    live = tables._replace(input_cost=inputs[0].copy())
    stop = threading.Event()

    def writer():
        i = 0
        while not stop.is_set():
            live.input_cost[:] = inputs[i % 2]
            i += 1

    w = threading.Thread(target=writer)
    w.start()
    try:
        for _ in range(30):
            got = _core.pareto(live, threads=2)
            assert any(np.array_equal(got["latency"], x["latency"]) and np.array_equal(got["accuracy"], x["accuracy"])
                       for x in want)
    finally:
        stop.set()
        w.join()


def test_tables_object_is_a_copy():
    tables = small_tables()
    arrays = [a.copy() for a in tables]
    t = _core.Tables(*arrays)
    before = _core.pareto(t)
    for a in arrays:
        a[...] = 0.0
    after = _core.pareto(t)
    for k in before:
        np.testing.assert_array_equal(before[k], after[k])
    assert not t.compute_cost.flags.writeable
    assert (t.N, t.M, t.K) == (tables.N, tables.M, tables.K)
    np.testing.assert_array_equal(t.accuracy, tables.accuracy)
    # Any module's Tables, or an object with the six tables by name, is taken; anything else is named.
    for module in compiled_modules():
        for name in ("pareto", "sweep"):
            got = getattr(module, name)(module.Tables(*tables))
            again = getattr(module, name)(t)
            for k in got:
                np.testing.assert_array_equal(got[k], again[k])
    with pytest.raises(TypeError, match="tables: expected a Tables object or the six tables .*, got list"):
        _core.pareto([1, 2, 3])


def test_tables_with_moves_share_the_rest_and_check_the_new_tables():
    """`Tables.with_moves`: the answers of a Tables built from all six arrays, on every compiled module; the
    shared tables are the base's (no copy), the new ones copied and checked by the constructor's rules."""
    rng = np.random.default_rng(8)
    base, moved = small_tables(seed=8), small_tables(seed=9)
    new = [rng.uniform(0, 0.01, a.shape) for a in (base.input_cost, base.forward_cost, base.result_cost)]
    for module in compiled_modules():
        t = module.Tables(*base)
        derived = t.with_moves(*new).with_moves(moved.input_cost, moved.forward_cost, moved.result_cost)
        whole = module.Tables(*base._replace(input_cost=moved.input_cost, forward_cost=moved.forward_cost,
                                             result_cost=moved.result_cost))
        for name in ("pareto", "sweep"):
            got, want = getattr(module, name)(derived), getattr(module, name)(whole)
            for k in want:
                np.testing.assert_array_equal(got[k], want[k])
        np.testing.assert_array_equal(derived.forward_cost, whole.forward_cost)  # ignored entries are 0 in both
        assert np.shares_memory(derived.compute_cost, t.compute_cost)
        del t  # the derived tables keep the shared ones alive
        np.testing.assert_array_equal(derived.compute_cost, whole.compute_cost)
        bad = moved.forward_cost.copy()
        bad[0, 0, 1] = -1.0
        with pytest.raises(ValueError, match=r"forward_cost\[0\]\[0\]\[1\] = -1: costs must be finite and >= 0"):
            derived.with_moves(moved.input_cost, bad, moved.result_cost)
        with pytest.raises(ValueError, match=rf"input_cost: expected shape \({base.M},\), got \(2,\)"):
            derived.with_moves(np.zeros(2), moved.forward_cost, moved.result_cost)
        with pytest.raises(ValueError, match="costs too large for float64"):
            derived.with_moves(np.full(base.M, 1e308), moved.forward_cost, moved.result_cost)


# --- the cost rule: entries no configuration reads, and overflow --------------------------------

def test_entries_no_configuration_reads_are_ignored_on_every_backend():
    """inf or NaN where no configuration looks (compute_cost[a][p][q] with p >= q, forward_cost[q][a][a],
    forward_cost[N-1]: block N's output is never sent) gives the answers of zeros there: before, cpu
    refused inf in forward_cost[N-1] although no configuration uses it."""
    tables = small_tables(seed=3, N=5, M=3, K=2)
    N, M = tables.N, tables.M
    dirty = tables._replace(forward_cost=tables.forward_cost.copy(), compute_cost=tables.compute_cost.copy())
    dirty.forward_cost[N - 1] = np.inf
    dirty.forward_cost[:, np.arange(M), np.arange(M)] = np.nan
    dirty.compute_cost[:, 3, 2] = np.inf
    clean = tables._replace(forward_cost=tables.forward_cost.copy())
    clean.forward_cost[N - 1] = 0.0
    want = reference.sweep(clean)
    for name in [b for b in ("numpy", "cpu") if ef.backends()[b]["available"]]:
        from eepart_fast.engine.registry import get_backend
        with np.errstate(invalid="ignore"):
            got = get_backend(name).sweep(dirty)
        np.testing.assert_allclose(got["latency"], want["latency"], rtol=1e-12, atol=0)
        np.testing.assert_array_equal(got["placement"], want["placement"])
    assert np.all(np.isfinite(want["latency"]))


@pytest.mark.parametrize("module", compiled_modules(), ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_used_costs_must_be_finite_and_latencies_cannot_overflow(module):
    tables = small_tables(seed=4, N=5, M=3, K=2)
    bad = tables._replace(forward_cost=tables.forward_cost.copy())
    bad.forward_cost[1, 0, 2] = np.inf
    with pytest.raises(ValueError, match=r"forward_cost\[1\]\[0\]\[2\] = inf: costs must be finite and >= 0"):
        module.sweep(bad)
    # Finite costs whose sum could pass float64's range: before, cpu returned inf latencies silently.
    huge = tables._replace(compute_cost=np.where(tables.compute_cost > 0, 1e308, 0.0))
    with pytest.raises(ValueError, match="costs too large for float64"):
        module.pareto(huge)
    with pytest.raises(ValueError, match="costs too large for float64"):
        module.evaluate(huge, np.array([0]), np.array([1]), np.array([[5]]), np.array([[0]]))
    # Just below the rule's limit every latency is finite.
    fine = tables._replace(compute_cost=tables.compute_cost * 1e300)
    assert np.all(np.isfinite(module.sweep(fine)["latency"]))


# --- time limits and the memory cap ----------------------------------------------------------------

def test_time_limit_stops_a_search_that_cannot_finish():
    """The adversarial instance (100 blocks, 16 identical tiers, free links) runs for many minutes; with
    a time limit it ends with TimeoutError shortly after it (checked every 100 ms)."""
    tables = _core.Tables(*identical_tiers(K=4))
    start = time.monotonic()
    with pytest.raises(TimeoutError, match=r"pareto: stopped at its time limit \(time_limit = 0.5 s\)"):
        _core.pareto(tables, time_limit=0.5, max_memory=2**40, threads=2)
    assert time.monotonic() - start < 30  # not a speed assertion: a hang would run for minutes


def test_time_limit_stops_a_sweep():
    rng = np.random.default_rng(7)
    tables = ef.cost_tables(random_profile(rng, 30, 20), random_topology(rng, 5))
    # Every leaf costs work and none is kept (412 million configurations, a second or more here): the
    # result cost alone reaches the bound, while the prefixes stay under it, so nothing is pruned.
    M = tables.M
    tables = _core.Tables(*tables._replace(input_cost=np.zeros(M), result_cost=np.ones(M),
                                           compute_cost=tables.compute_cost * 1e-9,
                                           forward_cost=tables.forward_cost * 1e-9))
    with pytest.raises(TimeoutError, match=r"sweep: stopped at its time limit \(time_limit = 0.05 s\)"):
        _core.sweep(tables, max_latency=1.0, time_limit=0.05)
    for bad in (0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="time_limit = .*: must be > 0 seconds"):
            _core.pareto(tables, time_limit=bad)


def test_memory_cap_bounds_the_peak_memory_of_the_search():
    """The capped search on the adversarial instance ends with a clear error, and the process's peak
    memory (ru_maxrss) stays within the stated bound: its memory before + max_memory + 64 MB. Before, a
    search capped at 1e9 bytes peaked at 1.97 GB (buffers grew past the cap while they moved)."""
    cap = 150_000_000
    code = f"""
        import resource
        import numpy as np
        from eepart_fast import _core
        from test_engine_limits import identical_tiers
        tables = _core.Tables(*identical_tiers(K=1))
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        try:
            _core.pareto(tables, max_memory={cap}, time_limit=100, threads=2)
            print("finished")
        except (ValueError, TimeoutError) as e:
            print(type(e).__name__, e)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        print("grew", peak - base)
    """
    rc, out = run_python(code)
    assert rc == 0, out
    assert "ValueError pareto: the search needs more than max_memory = 150000000 bytes" in out, out
    grew = int(out.rsplit("grew", 1)[1])
    assert grew <= cap + (64 << 20), out


def test_cupy_backend_checks_threads_and_time_limit_alike():
    """The CuPy backend (no CuPy needed for its checks) takes threads and time_limit as the compiled
    modules do, and its sweep stops between chunks past the deadline."""
    from eepart_fast.engine.backends import cupy as cupy_backend

    for bad in (-1, 1025, 10**30):
        with pytest.raises(ValueError, match=rf"threads = {bad}: must be in 0..1024"):
            cupy_backend._check_call(bad, np.inf)
    for bad in (True, 1.5):
        with pytest.raises(TypeError, match="threads: expected an integer"):
            cupy_backend._check_call(bad, np.inf)
    for bad in (0, -2.0, float("nan")):
        with pytest.raises(ValueError, match="time_limit = .*: must be > 0 seconds"):
            cupy_backend._check_call(0, bad)
    deadline = cupy_backend._check_call(np.int64(2), 1e-9)
    time.sleep(0.01)
    with pytest.raises(TimeoutError, match=r"sweep: stopped at its time limit \(time_limit = 1e-09 s\)"):
        cupy_backend._check_deadline(deadline, "sweep", 1e-9)


@pytest.mark.skipif(len(compiled_modules()) < 2, reason="the host-emulated GPU engine is not built here")
def test_gpu_engine_time_limit_between_chunks():
    """The GPU engine (here on the host emulator) looks at the clock where it asks for Ctrl-C: between
    chunks of the sweep and steps of the search."""
    emu = compiled_modules()[1]
    tables = emu.Tables(*small_tables(seed=8, N=8, M=3, K=3))
    with pytest.raises(TimeoutError, match=r"sweep: stopped at its time limit \(time_limit = 1e-06 s\)"):
        emu.sweep(tables, time_limit=1e-6, chunk_items=1)
    with pytest.raises(TimeoutError, match=r"pareto: stopped at its time limit"):
        emu.pareto(tables, time_limit=1e-6, engine="layered", chunk_slots=1)
    assert len(emu.sweep(tables, time_limit=60)["latency"]) == ef.count_configurations(8, 3, 3)


def test_options_are_bound_objects_checked_once():
    """pycolmap style: the options as objects, each field checked when set; the same answers as keywords."""
    tables = _core.Tables(*small_tables(seed=9, N=8, M=3, K=3))
    opt = _core.SearchOptions(min_accuracy=0.3, threads=1)
    assert (opt.min_accuracy, opt.max_latency, opt.threads, opt.max_memory) == (0.3, np.inf, 1, 2**31)
    for k, v in _core.pareto(tables, options=opt).items():
        np.testing.assert_array_equal(v, _core.pareto(tables, min_accuracy=0.3, threads=1)[k])
    with pytest.raises(ValueError, match="threads = -2: must be in 0..1024"):
        opt.threads = -2
    with pytest.raises(ValueError, match="min_accuracy = nan"):
        opt.min_accuracy = float("nan")
    with pytest.raises(ValueError, match="max_memory = 0: must be a positive number of bytes"):
        _core.SearchOptions(max_memory=0)
    with pytest.raises(TypeError, match="min_accuracy: given both as a keyword and in `options`"):
        _core.pareto(tables, options=opt, min_accuracy=0.5)
    with pytest.raises(TypeError, match="options: expected a SearchOptions"):
        _core.pareto(tables, options=_core.SweepOptions())
    sweep_opt = _core.SweepOptions(max_latency=0.5, time_limit=30)
    sweep_opt.max_rows = 10**6
    assert "max_rows=1000000" in repr(sweep_opt)
    for k, v in _core.sweep(tables, options=sweep_opt).items():
        np.testing.assert_array_equal(v, _core.sweep(tables, max_latency=0.5)[k])
    with pytest.raises(TypeError, match="time_limit: expected a number of seconds"):
        sweep_opt.time_limit = "soon"
