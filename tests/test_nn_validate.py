"""`eepart validate` end to end on a tiny run, checked against independent computations."""
import json
import os
from pathlib import Path

import numpy as np
import pytest

import eepart_fast as ef
from eepart_fast import Profile, Topology, evaluate
from eepart_fast.nn.estimators import (
    count_partitionings,
    exiting_accuracy,
    fit_stats,
    fitted_accuracy,
    kept_exit_outcome,
    predicted_accuracy,
    sample_partitionings,
)

PROFILE = Profile.preset("resnet20-fashionmnist")


# ---------------------------------------------------------------- estimators (numpy only)


def test_partitionings_are_distinct_seeded_and_bounded():
    a = sample_partitionings(10, 28, seed=3, max_partitions=4)
    assert a == sample_partitionings(10, 28, seed=3, max_partitions=4)
    assert a != sample_partitionings(10, 28, seed=4, max_partitions=4)
    assert len(set(a)) == 28
    assert all(1 <= len(p) <= 4 and list(p) == sorted(set(p)) and 1 <= p[0] and p[-1] <= 10 for p in a)
    assert count_partitionings(10, 4) == 10 + 45 + 120 + 210
    assert len(sample_partitionings(4, 100)) == 15  # all of them when asked for more
    with pytest.raises(ValueError, match="partitionings"):
        sample_partitionings(4, 0)


def test_partitioning_draw_is_uniform():
    # Every one of the 15 partitionings of N=4 should come first equally often over many seeds.
    firsts = [sample_partitionings(4, 1, seed=s)[0] for s in range(3000)]
    counts = np.array([firsts.count(p) for p in set(firsts)])
    assert len(counts) == 15 and counts.min() > 130 and counts.max() < 270


def test_prediction_matches_evaluate_for_per_branch_accuracy(backend):
    mobile = Topology.preset("mobile")
    for P in [(3,), (2, 7), (1, 4, 9, 10), (5, 6, 8)]:
        configs = [(t, list(P), list(range(len(P)))) for t in range(PROFILE.K)]
        r = evaluate(PROFILE, mobile, configs=configs, backend=backend)
        np.testing.assert_allclose(predicted_accuracy(PROFILE.exit_rate, PROFILE.accuracy, P), r.accuracy,
                                   rtol=1e-12, atol=1e-15)


def test_per_threshold_prediction_matches_evaluate(backend):
    rng = np.random.default_rng(1)
    table = rng.uniform(0.5, 1.0, (PROFILE.K, PROFILE.N))
    mobile = Topology.preset("mobile")
    per_threshold = PROFILE.with_accuracy(table, estimator="custom")
    for P in [(2, 5, 10), (4,), (1, 3, 6, 8)]:
        got = predicted_accuracy(PROFILE.exit_rate, table, P)
        r = evaluate(per_threshold, mobile, configs=[(t, list(P), list(range(len(P)))) for t in range(PROFILE.K)],
                     backend=backend)
        np.testing.assert_allclose(got, r.accuracy, rtol=1e-12, atol=1e-15)
        # Row t of the table is what an (N,) profile holding that row predicts at t.
        t = 7
        row = PROFILE.with_accuracy(table[t], estimator="custom")
        assert got[t] == pytest.approx(evaluate(row, mobile, configs=[(t, list(P), list(range(len(P))))],
                                                backend=backend).accuracy[0], rel=1e-12)


def _records(seed=0, samples=600, n=5):
    rng = np.random.default_rng(seed)
    # Later branches are surer and more often right; a sample's difficulty is shared by its branches.
    hard = rng.uniform(0, 1, samples)
    h = np.clip(hard[:, None] * np.linspace(1.0, 0.4, n)[None, :] + rng.normal(0, 0.08, (samples, n)), 0, 1)
    correct = rng.uniform(0, 1, (samples, n)) > hard[:, None] * np.linspace(0.6, 0.2, n)[None, :]
    return h, correct


def test_kept_exit_outcome_by_hand():
    h = np.array([[0.1, 0.9], [0.5, 0.2], [0.6, 0.7]])
    ok = np.array([[True, False], [False, True], [True, False]])
    fractions, acc = kept_exit_outcome(h, ok, [0.0, 0.3, 0.55, 1.0])
    # t=0: all at the last exit; t=0.3: sample 0 leaves first, 1 at the last (0.2 < 0.3), 2 at the last.
    np.testing.assert_array_equal(fractions, [[0, 1], [1 / 3, 2 / 3], [2 / 3, 1 / 3], [1, 0]])
    np.testing.assert_allclose(acc, [1 / 3, 2 / 3, 1 / 3, 2 / 3])


def test_fitted_table_beats_per_branch_accuracy_on_the_records():
    h, ok = _records()
    thresholds = np.linspace(0, 1, 11)
    table = fitted_accuracy(h, ok, thresholds, max_partitions=3)
    assert table.shape == (11, 5)
    from eepart_fast.io.records import exit_rates
    alpha = exit_rates(h, thresholds)
    err_fit, err_plain = [], []
    for P in sample_partitionings(5, 100, max_partitions=3):
        cols = np.array(P) - 1
        actual = kept_exit_outcome(h[:, cols], ok[:, cols], thresholds)[1]
        err_fit.append(predicted_accuracy(alpha, table, P) - actual)
        err_plain.append(predicted_accuracy(alpha, ok.mean(0), P) - actual)
    # Least squares over the same partitionings: never worse than one accuracy per branch.
    assert (np.square(err_fit).sum()) < 0.5 * np.square(err_plain).sum()
    # At threshold 0 every sample leaves at the last kept exit: the fit is the plain accuracy.
    np.testing.assert_allclose(table[0], ok.mean(0), atol=1e-9)
    shifted = fitted_accuracy(h, ok, thresholds, max_partitions=3, shift=np.full(5, 0.01))
    np.testing.assert_allclose(shifted, np.clip(table + 0.01, 0, 1), atol=1e-12)


def test_exiting_table_by_hand():
    h = np.array([[0.1, 0.9], [0.5, 0.2], [0.6, 0.7]])
    ok = np.array([[True, False], [False, True], [True, False]])
    table = exiting_accuracy(h, ok, [0.0, 0.3, 1.0])
    # t=0: nobody leaves at branch 1 (its plain accuracy 2/3 stands), all at branch 2 (1/3 right).
    # t=0.3: sample 0 leaves at 1 (right); samples 1, 2 at 2 (1 right of 2). t=1: all at 1 (2/3); 2 keeps 1/3.
    np.testing.assert_allclose(table, [[2 / 3, 1 / 3], [1.0, 0.5], [2 / 3, 1 / 3]])


def test_fit_stats_by_hand():
    s = fit_stats([0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.5])
    assert s["points"] == 4 and s["mae"] == pytest.approx(0.025)
    # actual mean 0.275, ss_tot = 0.0875; ss_res = 0.01
    assert s["r2"] == pytest.approx(1 - 0.01 / 0.0875)
    assert s["slope"] == pytest.approx(1.3)
    assert fit_stats([0, 1], [0, 1])["r2"] == 1.0


# ---------------------------------------------------------------- Profile: accuracy per threshold


def test_profile_holds_a_per_threshold_accuracy_and_its_estimator(tmp_path):
    table = np.tile(PROFILE.accuracy, (PROFILE.K, 1)) * np.linspace(0.9, 1.0, PROFILE.K)[:, None]
    p = PROFILE.with_accuracy(table, estimator="fitted")
    assert p.per_threshold_accuracy and p.accuracy.shape == (PROFILE.K, PROFILE.N)
    p.save(tmp_path / "p.json")
    back = Profile.load(tmp_path / "p.json")
    np.testing.assert_array_equal(back.accuracy, table)
    assert back.accuracy_estimator == "fitted"
    assert PROFILE.accuracy_estimator == "separate" and not PROFILE.per_threshold_accuracy
    assert PROFILE.accuracy_table().shape == (PROFILE.K, PROFILE.N)
    with pytest.raises(ValueError, match=r"accuracy: expected shape \(20, 10\), got \(3, 10\).*\(10,\), or \(20, 10\)"):
        PROFILE.with_accuracy(table[:3], estimator="fitted")
    with pytest.raises(ValueError, match=r"accuracy\[2\]\[4\] = 1.5"):
        bad = table.copy()
        bad[2, 4] = 1.5
        PROFILE.with_accuracy(bad, estimator="fitted")
    with pytest.raises(ValueError, match="accuracy_estimator: expected one of"):
        PROFILE.with_accuracy(table, estimator="best")
    d = json.loads((tmp_path / "p.json").read_text())
    d["accuracy_estimator"] = 3
    with pytest.raises(ValueError, match="accuracy_estimator"):
        Profile.from_dict(d)


# ---------------------------------------------------------------- end to end on a tiny run (torch)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    torch = pytest.importorskip("torch", reason="needs the train extra: pip install 'eepart_fast[train]'")
    from eepart_fast.nn import data as D
    from eepart_fast.nn.profiling import profile_run
    from eepart_fast.nn.run import RunSpec, train_run
    from eepart_fast.nn.train import TrainConfig
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("validate")
    spec = RunSpec(backbone="resnet8", limit=400,
                   joint=TrainConfig(epochs=4, batch_size=64, lr=0.05).as_dict(), separate="finetune",
                   separate_train=TrainConfig(epochs=1, batch_size=64, lr=0.01, max_batches=2).as_dict())
    try:
        data = D.load_data("fashion-mnist", limit=400)
    except D.DatasetMissing as exc:
        pytest.skip(f"Fashion-MNIST missing (apt-get install -y dataset-fashion-mnist): {exc}")
    train_run(folder / "run", spec, data=data, progress=False, log=lambda m: None)
    profile_run(folder / "run", folder / "tiny.json", timing_samples=5, warmup=1, data=data, progress=False)
    yield folder, data
    torch.set_num_threads(before)


def _cli(*args):
    from eepart_fast.cli import main
    return main(["validate", *map(str, args)])


def test_validate_end_to_end_against_independent_computations(tiny_run):
    import torch

    from eepart_fast.nn.validate import final_net, load_joint
    folder, data = tiny_run
    out = folder / "val"
    assert _cli("--run-dir", folder / "run", "--profile", folder / "tiny.json", "--out-dir", out,
                "--partitionings", 3, "--seed", 1, "--final-batches", 2, "--threads", 1, "--no-progress",
                "--plot", folder / "fig.png") == 0
    report = json.loads((out / "report.json").read_text())
    assert (folder / "fig.png").stat().st_size > 10_000
    profile = Profile.load(folder / "tiny.json")
    plan = json.loads((out / "validate.json").read_text())
    assert [r["P"] for r in report["partitionings"]] == plan["partitionings"]
    assert plan["partitionings"] == [list(p) for p in sample_partitionings(4, 3, seed=1, max_partitions=4)]
    assert set(report["estimators"]) == {"joint", "separate", "exiting", "fitted"} and report["recommended"] == "fitted"
    mobile = Topology.preset("mobile")
    _, _, joint = load_joint(folder / "run", data)
    some_exit_split = False
    for row in report["partitionings"]:
        P = row["P"]
        # Actual: the final model's weights run again here, the exit rule written out sample by sample.
        net = final_net(joint, P)
        net.load_state_dict(torch.load(out / f"final-{row['index']:02d}.pt", weights_only=True)["model"])
        net.eval()
        with torch.no_grad():
            x, y = data.test.batch(torch.arange(len(data.test)))
            probs = [o.float().softmax(1).double() for o in net(x)]
        ent = torch.stack([-(p * p.clamp_min(1e-300).log()).sum(1) / np.log(10) for p in probs], 1).float().numpy()
        pred = torch.stack([p.argmax(1) for p in probs], 1).numpy()
        for t, thr in enumerate(profile.thresholds):
            leave = [next((k for k in range(len(P)) if ent[s, k] < thr), len(P) - 1) for s in range(len(y))]
            fractions = np.bincount(leave, minlength=len(P)) / len(y)
            acc = np.mean([pred[s, leave[s]] == int(y[s]) for s in range(len(y))])
            np.testing.assert_allclose(row["actual"]["exit_fraction"][t], fractions, atol=1.01 / len(y))
            assert row["actual"]["accuracy"][t] == pytest.approx(acc, abs=1.5 / len(y))
            some_exit_split |= 0 < fractions[0] < 1
        # Predicted: the engine's evaluate for the per-branch estimators, row by row for the fitted one.
        configs = [(t, P, list(range(len(P)))) for t in range(profile.K)]
        for name in ("joint", "separate", "exiting"):
            p = profile.with_accuracy(report["estimators"][name]["accuracy"], estimator=name)
            np.testing.assert_allclose(row["predicted"]["accuracy"][name],
                                       evaluate(p, mobile, configs=configs).accuracy,
                                       rtol=1e-12)
        fitted = profile.with_accuracy(report["estimators"]["fitted"]["accuracy"], estimator="fitted")
        assert fitted.per_threshold_accuracy
        np.testing.assert_allclose(row["predicted"]["accuracy"]["fitted"],
                                   evaluate(fitted, mobile, configs=configs).accuracy,
                                   rtol=1e-12)
    assert some_exit_split, "the tiny run never splits samples between exits; the check above proves little"
    # The statistics are those of the rows.
    s = report["summary"]["accuracy"]["separate"]
    pred = np.concatenate([r["predicted"]["accuracy"]["separate"] for r in report["partitionings"]])
    act = np.concatenate([r["actual"]["accuracy"] for r in report["partitionings"]])
    assert s == fit_stats(pred, act)

    # The same command again resumes: nothing is retrained.
    stamp = {f: os.stat(out / f).st_mtime_ns for f in ("final-00.pt", "final-00.npz", "final-01.json")}
    assert _cli("--run-dir", folder / "run", "--profile", folder / "tiny.json", "--out-dir", out,
                "--partitionings", 3, "--seed", 1, "--final-batches", 2, "--no-progress") == 0
    assert stamp == {f: os.stat(out / f).st_mtime_ns for f in stamp}
    # Asking something else of the same folder is refused with a clear message.
    assert _cli("--run-dir", folder / "run", "--profile", folder / "tiny.json", "--out-dir", out,
                "--partitionings", 4, "--no-progress") == 2
    # The report alone redraws the figure, without training.
    (folder / "fig.png").unlink()
    assert _cli("--report", out / "report.json", "--plot", folder / "fig2.png") == 0
    assert (folder / "fig2.png").stat().st_size > 10_000


def test_validate_refuses_unfinished_run(tiny_run, tmp_path, capsys):
    folder, _ = tiny_run
    assert _cli("--run-dir", tmp_path / "none", "--profile", folder / "tiny.json", "--no-progress") == 2
    assert "train first" in capsys.readouterr().err
    assert _cli("--report", tmp_path / "missing.json", "--plot", tmp_path / "f.png") == 2


def test_validate_refuses_another_networks_profile_before_training(tiny_run, tmp_path, capsys):
    # The shipped ResNet-20 profile (N = 10) against the tiny resnet8 run (N = 4): no report from it.
    folder, _ = tiny_run
    other = Path(ef.__file__).parent / "presets" / "profiles" / "resnet20-fashionmnist.json"
    assert _cli("--run-dir", folder / "run", "--profile", other, "--out-dir", tmp_path / "v", "--partitionings", 2,
                "--final-batches", 1, "--no-progress") == 2
    assert "N = 10 blocks, but the run" in capsys.readouterr().err
    assert not list((tmp_path / "v").glob("final-*"))
    # A report rebuilt from a finished validation with the wrong profile is refused the same way.
    out = tmp_path / "w"
    assert _cli("--run-dir", folder / "run", "--profile", folder / "tiny.json", "--out-dir", out,
                "--partitionings", 1, "--final-batches", 1, "--no-progress") == 0
    capsys.readouterr()
    assert _cli("--run-dir", folder / "run", "--profile", other, "--out-dir", out, "--partitionings", 1,
                "--final-batches", 1, "--report-only", "--no-progress") == 2
    assert "N = 10 blocks" in capsys.readouterr().err


def test_write_profile_with_the_fitted_estimator(tmp_path, capsys):
    # The shipped profile and its records: a profile the engine plans with, accuracy per threshold.
    # `eepart validate` is registered with the training commands
    pytest.importorskip("torch", reason="needs the train extra: pip install 'eepart_fast[train]'")
    from eepart_fast.io.records import load_records, records_path
    from eepart_fast.nn.validate import estimator_tables
    src = Path(ef.__file__).parent / "presets" / "profiles" / "resnet20-fashionmnist.json"
    assert _cli("--profile", src, "--write-profile", tmp_path / "fitted.json") == 0
    fitted = Profile.load(tmp_path / "fitted.json")
    assert fitted.accuracy_estimator == "fitted" and fitted.accuracy.shape == (PROFILE.K, PROFILE.N)
    expected = estimator_tables(PROFILE, load_records(records_path(src)), 4)["tables"]["fitted"]
    np.testing.assert_array_equal(fitted.accuracy, expected)
    np.testing.assert_array_equal(fitted.exit_rate, PROFILE.exit_rate)
    # At threshold 0 every sample reaches the last kept exit: the fit is the separate accuracy.
    np.testing.assert_allclose(fitted.accuracy[0], PROFILE.accuracy, atol=1e-9)
    assert ef.min_latency(fitted, Topology.preset("mobile"), min_accuracy=0.9) is not None
    assert _cli("--profile", tmp_path / "fitted.json", "--write-profile", tmp_path / "x.json") == 2
    assert "records" in capsys.readouterr().err


def test_interrupted_atomic_write_leaves_nothing_behind(tmp_path):
    from eepart_fast.nn.validate import _write_atomic
    target = tmp_path / "final-00.npz"

    def half(p):
        p.write_bytes(b"PK\x03\x04 half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _write_atomic(target, half)
    assert list(tmp_path.iterdir()) == []


def test_partitioning_draw_refuses_a_negative_seed_by_name():
    with pytest.raises(ValueError, match="seed: expected a non-negative integer, got -3"):
        sample_partitionings(10, 5, seed=-3)
