"""The engine's answers on the benchmark instances, hashed, so two builds can be compared exactly (a
refactor must not change one bit of a frontier, a label count or a kept row).

    python bench/fingerprint.py --out a.json          # in one checkout, with its build
    python bench/fingerprint.py --compare a.json b.json

Per instance: the exact search (the mean, and on the cpu the 0.5/0.9/0.99 quantiles; unbounded and bounded) with its
label counts, and the bounded sweep's kept rows, on every available engine (cpu, and the host-emulated
CUDA engines where built, and the device's where one is present); on the small instances, the sweep with energy
tables (seeded) and max_energy on every engine, where the build has energy (its rows, energy column included, hash
alike on every engine). Only `_core`, `_cuda_emu` and the instances' fillers are used, so the script
runs unchanged on older checkouts.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import eepart_fast as ef  # noqa: E402
from eepart_fast import _core  # noqa: E402

from _bench_instances import chain, realistic_profile, seeded_tables  # noqa: E402

INSTANCES = {
    "seeded-N10-M3-K5": lambda: seeded_tables(10, 3, 5),
    "seeded-N12-M4-K10": lambda: seeded_tables(12, 4, 10),
    "realistic-N10-M4-K20": lambda: ef.cost_tables(realistic_profile(10, 20), chain(4)),
    "realistic-N30-M5-K20": lambda: ef.cost_tables(realistic_profile(30, 20), chain(5)),
    "realistic-N55-M3-K10": lambda: ef.cost_tables(realistic_profile(55, 3), chain(3)),
    "shipped-resnet20-mobile": lambda: ef.cost_tables(ef.Profile.preset("resnet20-fashionmnist"),
                                                      ef.Topology.preset("mobile")),
}
QUANTILES = (None, 0.5, 0.9, 0.99)


def digest(columns: dict) -> str:
    h = hashlib.sha256()
    for key in sorted(columns):
        value = columns[key]
        if isinstance(value, np.ndarray):
            h.update(key.encode())
            h.update(np.ascontiguousarray(value).tobytes())
    return h.hexdigest()[:16]


def engines():
    out = {"cpu": _core}
    for name, module in (("cuda-emu", "_cuda_emu"), ("cuda", "_cuda")):
        try:
            out[name] = importlib.import_module(f"eepart_fast.{module}")
            if name == "cuda" and out[name].device_count() < 1:
                del out[name]  # built, but no device here
        except (ImportError, AttributeError):
            out.pop(name, None)
    return out


def search(module, tables, **bounds):
    # One thread: with more, which labels a layer prunes depends on timing (the frontiers do not).
    try:
        front = module.pareto(tables, stats=True, threads=1, **bounds)
    except TypeError:  # an engine without search statistics
        front = module.pareto(tables, **bounds)
    stats = {k: int(v) for k, v in front.get("stats", {}).items() if isinstance(v, (int, np.integer))}
    return {"points": int(front["latency"].size), "digest": digest(front), "stats": stats}


def energy_of(tables, seed=7):
    """Seeded energy tables of the cost tables' shapes (a plain 4-tuple: older checkouts have no EnergyTables)."""
    rng = np.random.default_rng(seed)
    return tuple(rng.uniform(0, 1e-2, np.shape(t)) for t in tables[:4])


def energy_sweep(module, tables, **bounds):
    """The bounded sweep with energy tables and max_energy at the kept rows' median energy (cpu's); None where
    the engine has no energy (an older build)."""
    energy = energy_of(tables)
    try:
        every = _core.sweep(tables, energy=energy, **bounds)
        rows = module.sweep(tables, energy=energy, max_energy=float(np.median(every["energy"])), **bounds)
    except TypeError:
        return None
    rows = {k: np.asarray(v, dtype=np.float64 if k in ("latency", "accuracy", "energy") else np.int32)
            for k, v in rows.items()}  # the engines' dtypes alike, so that equal rows hash alike
    return {"rows": int(rows["latency"].size), "digest": digest(rows)}


def fingerprint() -> dict:
    out = {}
    for name, make in INSTANCES.items():
        tables = make()
        front = _core.pareto(tables)
        mid = float(np.median(front["latency"]))
        acc = float(np.median(front["accuracy"]))
        for engine, module in engines().items():
            for q in QUANTILES:
                if engine != "cpu" and (q is not None or tables.N > 30):
                    continue  # the CUDA engines search the mean; their quantile is a sweep's frontier
                kw = {} if q is None else {"quantile": q}
                out[f"{name}/{engine}/pareto/q={q}"] = search(module, tables, **kw)
                out[f"{name}/{engine}/bounded/q={q}"] = search(module, tables, max_latency=mid, min_accuracy=acc, **kw)
        if tables.N <= 12:
            rows = _core.sweep(tables, max_latency=mid, min_accuracy=acc)
            out[f"{name}/cpu/sweep"] = {"rows": int(rows["latency"].size), "digest": digest(rows)}
            for engine, module in engines().items():
                if (answer := energy_sweep(module, tables, max_latency=mid)) is not None:
                    out[f"{name}/{engine}/sweep-energy"] = answer
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="write the fingerprint here (JSON)")
    parser.add_argument("--compare", nargs=2, metavar="JSON", help="compare two fingerprints; exit 1 if they differ")
    a = parser.parse_args()
    if a.compare:
        x, y = (json.load(open(p)) for p in a.compare)
        differ = sorted(k for k in set(x) | set(y) if x.get(k) != y.get(k))
        for k in differ:
            print(f"{k}: {x.get(k)} != {y.get(k)}")
        print(f"{len(set(x) & set(y))} answers compared, {len(differ)} differ")
        return 1 if differ else 0
    result = fingerprint()
    text = json.dumps(result, indent=1, sort_keys=True)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
