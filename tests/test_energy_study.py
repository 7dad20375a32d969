"""Studies with energy (docs/studies.md "Energy"): energy_tiers, max_energy as a bound and compute
"min_energy"; every row's energy and every plan equal a Planner's per scenario (the Planner's energy answers
are tested against brute force in test_energy_planner.py / test_energy_search.py); the Parquet columns;
a study without energy writes and reads as before. The tasks run here without Dask (make_batches and
run_batch: what each worker runs); test_study.py runs studies on a LocalCluster."""
import math

import numpy as np
import pytest

pa = pytest.importorskip("pyarrow", reason="needs the study extra: pip install 'eepart_fast[study]'")
pq = pytest.importorskip("pyarrow.parquet", reason="needs the study extra: pip install 'eepart_fast[study]'")

import eepart_fast as ef
from eepart_fast.io.arrow import ROW_WIDTH, partitions_placement
from eepart_fast.study import load_study, read_study, scenario
from eepart_fast.study.runner import make_batches
from eepart_fast.study.tasks import run_batch

TIERS = ["smartwatch", "smartphone"]
BOUNDS = [{"min_accuracy": 0.9, "max_energy": 0.01}, {"max_latency": 0.3, "max_energy": 0.05},
          {"min_accuracy": 0.85, "max_latency": 0.5}, {"min_accuracy": 0.9, "max_energy": 1e-4}]


def _run(study: dict, out):
    spec = load_study(study)
    out.mkdir()
    for batch in make_batches(spec, out, None, 3):
        run_batch(batch)
    return spec, read_study(out).sort_by("scenario")


def _study(compute):
    return {"name": "e", "profiles": ["resnet20-fashionmnist"], "compute": compute, "energy_tiers": TIERS,
            "topologies": [{"topology": "mobile-energy", "grid": {"bandwidth[0]": [5e5, 5e6],
                                                                   "bandwidth[1]": [1e6, 5e7]}}],
            "bounds": BOUNDS}


def _plans(rows: dict, idx) -> list:
    P, A = rows["P"], rows["A"]
    return [(rows["latency"][i], rows["accuracy"][i], rows["energy"][i], int(rows["threshold_index"][i]),
             [int(v) for v in P[i] if v >= 0], [int(v) for v in A[i] if v >= 0]) for i in idx]


def _want(plan) -> tuple:
    return (plan.latency, plan.accuracy, plan.energy, plan.threshold_index, list(plan.partitions),
            list(plan.placement))


def test_energy_rows_are_a_planners(tmp_path):
    spec, table = _run(_study(["frontier", "plans", "min_energy"]), tmp_path / "out")
    assert table.schema.field("energy").type == pa.float64() and "max_energy" in table.schema.names
    P, A = partitions_placement(table)
    rows = {k: table.column(k).to_numpy(zero_copy_only=False) for k in
            ("scenario", "kind", "latency", "accuracy", "energy", "threshold_index", "found", "max_energy")}
    rows["P"], rows["A"] = P, A
    kinds = set()
    for s in range(spec.scenarios):
        sc = scenario(spec, s)
        bound = sc["bound"]
        planner = ef.Planner(sc["profile"], sc["topology"], energy_tiers=TIERS)
        cap = bound.get("max_energy", 1e300)  # a finite bound: the Planner's answers carry their energy
        lo, hi = bound.get("min_accuracy", -math.inf), bound.get("max_latency", math.inf)
        front = [p for p in planner.pareto(max_energy=cap) if p.accuracy >= lo and p.latency <= hi]
        want = {"frontier": front, "P_energy": [planner.min_energy(min_accuracy=bound.get("min_accuracy"),
                                                                   max_latency=bound.get("max_latency"))]}
        if "min_accuracy" in bound:
            p = planner.min_latency(min_accuracy=lo, max_energy=cap)
            want["P_lat"] = [p if p is not None and p.latency <= hi else None]
        if "max_latency" in bound:
            p = planner.max_accuracy(max_latency=hi, max_energy=cap)
            want["P_acc"] = [p if p is not None and p.accuracy >= lo else None]
        want["P_energy"] = [p if p is not None and p.energy <= cap else None for p in want["P_energy"]]
        for kind, plans in want.items():
            idx = np.flatnonzero((rows["scenario"] == s) & (rows["kind"] == kind))
            found = [p for p in plans if p is not None]
            if not found:
                assert idx.size == 1 and not rows["found"][idx[0]] and math.isnan(rows["energy"][idx[0]]), (s, kind)
                continue
            kinds.add(kind)
            assert _plans(rows, idx) == [_want(p) for p in found], (s, kind)
        mine = rows["max_energy"][rows["scenario"] == s]
        assert (np.isnan(mine) if "max_energy" not in bound else mine == bound["max_energy"]).all()
    assert kinds == {"frontier", "P_lat", "P_acc", "P_energy"}
    # The bound binds somewhere: an energy-bounded answer differs from the unbounded one.
    assert np.nanmax(rows["energy"][rows["max_energy"] == 0.01]) <= 0.01


def test_sweep_rows_carry_energy(tmp_path):
    study = _study(["sweep"])
    study["bounds"] = [{"min_accuracy": 0.9, "max_energy": 0.01}]
    study["topologies"][0]["grid"] = {"bandwidth[0]": [5e5]}
    spec, table = _run(study, tmp_path / "out")
    sc = scenario(spec, 0)
    want = ef.sweep(sc["profile"], sc["topology"], min_accuracy=0.9, max_energy=0.01, energy_tiers=TIERS)
    got = table.column("energy").to_numpy()
    assert got.shape == want.energy.shape and got.size
    np.testing.assert_array_equal(np.sort(got), np.sort(want.energy))


def test_a_study_without_energy_has_no_energy_columns_and_reads_them_as_nulls(tmp_path):
    study = _study(["plans"])
    del study["energy_tiers"]
    study["bounds"] = [{"min_accuracy": 0.9}]
    spec, table = _run(study, tmp_path / "out")
    assert "energy" not in table.schema.names and "max_energy" not in table.schema.names
    assert table.schema.names[-2 * ROW_WIDTH:][0] == "P1"
    old = read_study(tmp_path / "out", columns=["scenario", "energy", "latency"])
    assert old.column_names == ["scenario", "energy", "latency"] and old.column("energy").null_count == old.num_rows
    # The same study with energy: another fingerprint and other scenario ids (its rows differ), the same plans.
    study["energy_tiers"] = "source"
    spec2, table2 = _run(study, tmp_path / "out2")
    assert spec2.fingerprint() != spec.fingerprint()
    assert set(table2.column("scenario_id").to_pylist()).isdisjoint(table.column("scenario_id").to_pylist())
    assert table2.column("latency").to_pylist() == table.column("latency").to_pylist()


@pytest.mark.parametrize("study, match", [
    ({"bounds": [{"min_accuracy": 0.9, "max_energy": 0.1}]}, r"bounds\[0\].max_energy: needs energy_tiers"),
    ({"compute": ["min_energy"]}, "compute 'min_energy': needs energy_tiers"),
    ({"energy_tiers": ["nowhere"]}, "energy_tiers, on topology 'mobile-energy'"),
    ({"energy_tiers": "source", "bounds": [{"min_accuracy": 0.9, "max_energy": 0.1, "quantile": 0.9}]},
     r"bounds\[0\].quantile = 0.9 with bounds\[0\].max_energy: the energy questions take the mean latency only"),
    ({"bounds": [{"max_energy": "lots"}], "energy_tiers": "all"}, r"bounds\[0\].max_energy"),
])
def test_bad_energy_fields_are_named(study, match):
    d = {"name": "e", "profiles": ["resnet20-fashionmnist"], "topologies": ["mobile-energy"], "compute": ["plans"],
         "bounds": [{"min_accuracy": 0.9}], **study}
    with pytest.raises((ValueError, TypeError), match=match):
        load_study(d)
