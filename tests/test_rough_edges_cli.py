"""Rough edges of the command line a first user meets (issue 18): export of the committed Figure 3 weights,
progress bars in piped logs, frontier digits, the manifest path printed, mistyped flags and subcommands,
and the --over plot. Every socket is on 127.0.0.1; every run is bounded by its timeout."""
import io
import json
import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from eepart_fast.cli.commands import frontier_summary, main

ROOT = Path(__file__).resolve().parents[1]
FIGURE_3 = ROOT / "experiments" / "results" / "figure_3_weights"
TRAIN = "needs the train extra: pip install 'eepart_fast[train]'"
RUNTIME = "needs the runtime extra: pip install 'eepart_fast[runtime]'"


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# --- 1. export of model weights alone (experiments/results/figure_3_weights), or one line naming the field ---

def _needs_export():
    torch = pytest.importorskip("torch", reason=TRAIN)
    for module in ("onnx", "onnxscript", "onnxruntime"):
        pytest.importorskip(module, reason=RUNTIME)
    return torch


def _fashion_mnist():
    from eepart_fast.nn import data as D
    try:
        D.load_fashion_mnist(test_limit=1, train_limit=1, profile_limit=1)
    except D.DatasetMissing as exc:
        pytest.skip(f"Fashion-MNIST missing (apt-get install -y dataset-fashion-mnist): {exc}")


PLAN = {"best": {"partitions": [3, 10], "tier_names": ["smartphone", "edge server"], "threshold": 0.5,
                 "source": "smartwatch", "destination": "smartwatch"}}


@pytest.fixture(scope="module")
def figure_3_deploy(tmp_path_factory):
    """`eepart export` of the committed Figure 3 run folder (joint.pt: model weights alone), --out with a
    trailing slash; (exit code, stdout, folder)."""
    _needs_export()
    _fashion_mnist()
    tmp = tmp_path_factory.mktemp("fig3")
    plan = tmp / "plan.json"
    plan.write_text(json.dumps(PLAN))
    out = io.StringIO()
    from contextlib import redirect_stdout
    with redirect_stdout(out):
        code = main(["export", "--run-dir", str(FIGURE_3), "--plan", str(plan), "--out", f"{tmp}/deploy/",
                     "--check-samples", "2"])
    return code, out.getvalue(), tmp / "deploy"


def test_export_of_the_committed_figure_3_weights(figure_3_deploy):
    from eepart_fast.runtime import load_manifest
    code, out, deploy = figure_3_deploy
    assert code == 0, out
    m = load_manifest(deploy)
    assert [list(p.blocks) for p in m.partitions] == [[1, 3], [4, 10]] and m.tiers[1:] == ["smartphone", "edge server"]
    assert m.data["model"]["joint_epochs_trained"] is None
    assert "epochs trained not recorded" in m.data["model"]["weights"]
    for part in m.data["partitions"]:  # the ONNX partitions agree with torch on the weights loaded
        assert part["check"]["samples"] == 2
        assert max(part["check"]["max_abs_diff"].values()) <= part["check"]["tolerance"]


def test_export_prints_a_normalised_manifest_path(figure_3_deploy):
    code, out, deploy = figure_3_deploy
    assert code == 0
    last = out.strip().splitlines()[-1]
    assert last.startswith(f"wrote {deploy}/manifest.json (threshold 0.5, "), last
    assert "//" not in last


def test_load_checkpoint_takes_weights_alone_and_names_a_missing_field(tmp_path):
    torch = pytest.importorskip("torch", reason=TRAIN)
    from eepart_fast.nn.train import load_checkpoint
    weights = {"w": torch.ones(2), "b": torch.zeros(1)}
    torch.save(weights, tmp_path / "bare.pt")
    ck = load_checkpoint(tmp_path / "bare.pt")
    assert set(ck) == {"model"} and torch.equal(ck["model"]["w"], torch.ones(2))
    with pytest.raises(ValueError, match=re.escape(f"{tmp_path / 'bare.pt'}: field 'epoch' missing "
                                                   "(model weights only)")):
        load_checkpoint(tmp_path / "bare.pt", need=("epoch",))
    torch.save({"model": weights, "epoch": 3}, tmp_path / "full.pt")
    assert load_checkpoint(tmp_path / "full.pt", need=("epoch",))["epoch"] == 3
    torch.save({"epoch": 3, "config": {}}, tmp_path / "nomodel.pt")
    with pytest.raises(ValueError, match=re.escape(f"{tmp_path / 'nomodel.pt'}: field 'model' missing")):
        load_checkpoint(tmp_path / "nomodel.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint at all")
    with pytest.raises(ValueError, match="junk.pt: not a torch checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")


def test_training_does_not_resume_from_weights_alone(tmp_path):
    torch = pytest.importorskip("torch", reason=TRAIN)
    from eepart_fast.nn.train import TrainConfig, train_model
    net = torch.nn.Linear(2, 2)
    torch.save(net.state_dict(), tmp_path / "joint.pt")
    with pytest.raises(ValueError, match=re.escape(f"{tmp_path / 'joint.pt'}: field 'config' missing")):
        train_model(net, list(range(8)), TrainConfig(epochs=1), tmp_path / "joint.pt", progress=False,
                    log=lambda m: None)


def test_validate_and_profile_refuse_weights_alone_by_field(tmp_path):
    """They need the training record (config, epoch) that weights alone lack: one line naming it."""
    torch = pytest.importorskip("torch", reason=TRAIN)
    from eepart_fast.nn.run import load_trained
    from eepart_fast.nn.validate import load_joint
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(FIGURE_3 / "run.json", run / "run.json")
    shutil.copy(FIGURE_3 / "joint.pt", run / "joint.pt")
    for i in range(1, 11):  # the separate models load_trained checks for before reading any
        torch.save({}, run / f"separate-{i}.pt")
    data = SimpleNamespace(channels=1, classes=10, input_shape=(1, 28, 28))  # what build_net reads of a dataset
    for load in (load_joint, load_trained):
        with pytest.raises(ValueError, match=re.escape(f"{run / 'joint.pt'}: field 'config' missing "
                                                       "(model weights only)")):
            load(run, data)


def test_export_without_weights_is_one_line_naming_file_and_field(tmp_path, capsys):
    torch = _needs_export()
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(FIGURE_3 / "run.json", run / "run.json")
    torch.save({"epoch": 8}, run / "joint.pt")  # a training record without its weights
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(PLAN))
    assert main(["export", "--run-dir", str(run), "--plan", str(plan), "--out", str(tmp_path / "d")]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert f"{run / 'joint.pt'}: field 'model' missing" in line, line


def test_export_of_another_networks_weights_is_one_line(tmp_path, capsys):
    _needs_export()
    _fashion_mnist()
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(FIGURE_3 / "run.json", run / "run.json")
    shutil.copy(FIGURE_3 / "final-05.pt", run / "joint.pt")  # a final model: fewer blocks than the joint one
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(PLAN))
    assert main(["export", "--run-dir", str(run), "--plan", str(plan), "--out", str(tmp_path / "d")]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert f"{run / 'joint.pt'}: field 'model' does not fit the resnet20 (block) network" in line, line
    assert not (tmp_path / "d").exists()


# --- 2. eepart run: a progress bar only on a terminal -----------------------------------------------------

class _Terminal(io.StringIO):
    def isatty(self):
        return True


def _drive(bar, n):
    """What run_local does with its bar."""
    for done in range(1, n + 1):
        bar.n = done
        bar.refresh()
    bar.close()


def test_progress_bar_only_on_a_terminal():
    pytest.importorskip("zmq", reason=RUNTIME)
    from eepart_fast.runtime.driver import progress_bar
    piped, terminal = io.StringIO(), _Terminal()
    _drive(progress_bar(3, True, file=piped), 3)
    _drive(progress_bar(3, True, file=terminal), 3)
    assert piped.getvalue() == ""
    assert "samples" in terminal.getvalue() and "3/3" in terminal.getvalue()
    assert progress_bar(3, False, file=terminal) is None


def test_eepart_run_writes_no_bar_into_a_piped_log(figure_3_deploy, tmp_path, capfd):
    """The whole command, stderr captured (not a terminal): no bar; --no-progress still accepted."""
    code, _, deploy = figure_3_deploy
    assert code == 0
    pytest.importorskip("zmq", reason=RUNTIME)
    images = tmp_path / "x.npz"
    np.savez(images, x=np.zeros((3, 1, 28, 28), np.float32), y=np.zeros(3, np.int64))
    capfd.readouterr()
    args = ["run", "--deploy", str(deploy), "--topology", "mobile", "--images", str(images), "--samples", "3",
            "--clock", "none", "--no-emulation", "--timeout", "20"]
    assert main(args) == 0
    out, err = capfd.readouterr()
    assert out.startswith("3 samples, closed loop"), out
    assert "samples:" not in err and "it/s" not in err and "\r" not in err, err
    assert main([*args, "--no-progress"]) == 0
    assert "it/s" not in capfd.readouterr().err


# --- 3. frontier summaries with the digits that tell points apart -----------------------------------------

def _plan(latency_ms, accuracy, threshold=0.5):
    return SimpleNamespace(latency=latency_ms / 1e3, accuracy=accuracy, threshold=threshold,
                           breakdown=[{"blocks": (1, 3), "tier_name": "edge"}])


def test_frontier_head_tells_points_differing_in_the_5th_digit_apart():
    plans = [_plan(80.0001, 0.86941), _plan(80.0004, 0.86944)]
    # 4 significant digits printed "latency 80 to 80 ms, accuracy 0.8694 to 0.8694": the second point looked
    # dominated by the first.
    head = "Pareto frontier: 2 points, latency 80.0001 to 80.0004 ms, accuracy 0.86941 to 0.86944"
    assert frontier_summary(plans, 0) == head + " (--frontier N or all to list them)"
    text = frontier_summary(plans, None).splitlines()
    assert text[0] == head
    assert re.fullmatch(r"\s*80\.0001\s+0\.86941\s+0\.5\s+1-3@edge", text[2])
    assert re.fullmatch(r"\s*80\.0004\s+0\.86944\s+0\.5\s+1-3@edge", text[3])


def test_frontier_head_and_shown_rows_agree():
    # Five points; two shown (the ends). Neighbours 2 and 3 differ in the 6th decimal, but they are not shown:
    # the head and rows use the digits the shown points need, the same in both.
    plans = [_plan(10.0, 0.7), _plan(20.0, 0.8), _plan(30.0, 0.800001), _plan(40.0, 0.85), _plan(50.0, 0.90002)]
    text = frontier_summary(plans, 2).splitlines()
    assert text[0] == ("Pareto frontier: 5 points, latency 10.000 to 50.000 ms, accuracy 0.7000 to 0.9000; "
                       "2 of them, evenly spaced (--frontier all lists every point):")
    assert [line.split()[:2] for line in text[2:]] == [["10.000", "0.7000"], ["50.000", "0.9000"]]
    every = frontier_summary(plans, None).splitlines()
    assert every[0] == "Pareto frontier: 5 points, latency 10.000 to 50.000 ms, accuracy 0.700000 to 0.900020"
    assert [line.split()[1] for line in every[2:]] == ["0.700000", "0.800000", "0.800001", "0.850000", "0.900020"]


def test_plan_table_prints_accuracies_that_differ():
    from eepart_fast import Profile, Topology
    from eepart_fast.planning.planner import Planner
    table = Planner(Profile.preset("resnet20-fashionmnist"), Topology.preset("mobile"), source=0,
                    destination=0).plan_table(
        "bandwidth", 1, 1e6, 100e6, max_latency=0.080)
    rows = str(table).splitlines()[2:]
    printed = [line.split()[2] for line in rows]
    accuracy = [r.accuracy for r in table.rows]
    assert len(printed) == len(accuracy) == 14
    for a, b, x, y in zip(printed, printed[1:], accuracy, accuracy[1:]):
        assert (a != b) == (x != y), (a, b, x, y)
    for text, value in zip(printed, accuracy):
        assert abs(float(text) - value) <= 0.5 * 10.0 ** -len(text.split(".")[1])
    assert printed[:2] == ["0.869056", "0.869087"]  # 0.8691 twice before


# --- 5. mistyped flags and subcommands: the closest valid one ---------------------------------------------

@pytest.mark.parametrize("argv, hint", [
    (["plan", "--min-acuracy", "0.9"], "eepart plan: error: unrecognized arguments: --min-acuracy 0.9; "
                                       "did you mean --min-accuracy? (see eepart plan --help)"),
    (["plan", "--max-latncy-ms=150"], "did you mean --max-latency-ms?"),
    (["plna"], "); did you mean 'plan'? (see eepart --help)"),
    (["swep", "--out", "x.csv"], "did you mean 'sweep'?"),
    (["plan", "--backend", "cpux"], "did you mean 'cpu'?"),
    (["sweep", "--ot", "x.csv"], "the following arguments are required: --out; --ot: did you mean --out?"),
])
def test_mistyped_flag_or_subcommand_gets_the_closest(argv, hint, capsys):
    assert main(argv) == 2
    line = one_error_line(capsys.readouterr().err)
    assert hint in line, line


def test_no_suggestion_when_nothing_is_close(capsys):
    assert main(["plan", "--zzz", "3"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert line == "eepart plan: error: unrecognized arguments: --zzz 3 (see eepart plan --help)"
    assert main(["plan", "--min-acc", "0.5", "--frontier", "0"]) == 0  # an abbreviation argparse takes stays valid
    assert "did you mean" not in capsys.readouterr().err


# --- 6. the --over plot: breakpoints told apart, a colour and legend entry per plan, a sane accuracy axis -

def test_plot_helpers():
    from eepart_fast.planning.plot import accuracy_limits, crowded_groups, plan_colours
    assert crowded_groups([0.1, 0.105, 0.5, 0.9, 0.905, 0.909], 0.012) == [(0, 1), (2, 2), (3, 5)]
    assert crowded_groups([], 0.012) == []
    assert accuracy_limits([0.869, 0.870]) == pytest.approx((0.8635, 0.8755))  # span 0.01 x 1.2 around 0.8695
    assert accuracy_limits([0.995, 0.999]) == pytest.approx((0.988, 1.0))  # kept under 1
    assert accuracy_limits([0.2, 0.8]) == pytest.approx((0.14, 0.86))  # a wide spread: 10 % margins
    for n in (3, 14, 25):
        assert len(set(plan_colours(n))) == n


def test_over_plot(tmp_path):
    from matplotlib.colors import to_hex

    from eepart_fast import Profile, Topology
    from eepart_fast.planning.planner import Planner
    table = Planner(Profile.preset("resnet20-fashionmnist"), Topology.preset("mobile"), source=0,
                    destination=0).plan_table(
        "bandwidth", 1, 1e6, 100e6, max_latency=0.080)
    assert len(table.breakpoints) == 13
    fig = table.plot(tmp_path / "t.png", title="t")
    assert (tmp_path / "t.png").stat().st_size > 0
    top, bottom = fig.axes
    segments = [line for line in top.get_lines() if line.get_linestyle() == "-"]
    assert len(segments) == len(table.rows)
    colour = {}
    for line, row in zip(segments, table.rows):
        colour.setdefault(row.config, set()).add(to_hex(line.get_color()))
    assert all(len(c) == 1 for c in colour.values())  # a plan keeps its colour
    assert len({c for cs in colour.values() for c in cs}) == len(colour) == 14  # one colour per distinct plan
    legend = fig.legends[0]
    names = [t.get_text() for t in legend.get_texts()]
    assert len(names) == 14 and names[0] == "t=0.6842  1-3@smartphone  4-10@edge server"  # threshold 13 / 19
    assert legend.get_title().get_text() == "14 plans"
    lo, hi = top.get_ylim()
    accuracy = [r.accuracy for r in table.rows]
    assert hi - lo >= 0.01 and lo < min(accuracy) and max(accuracy) < hi
    # The 7 breakpoints from 2.897 to 3.067 Mbit/s: one band and a note; the other 6, one dotted line each.
    notes = [t.get_text() for t in top.texts]
    assert "7 breakpoints\n2.897-3.067 Mbit/s" in notes
    assert len([line for line in top.get_lines() if line.get_linestyle() == ":"]) == 6


def test_a_figure_of_a_type_matplotlib_does_not_write_is_refused_before_any_work(capsys, tmp_path):
    """--plot out.txt: one line naming --plot and the types matplotlib writes, and nothing written."""
    from eepart_fast.cli import main

    code = main(["plan", "--min-accuracy", "0.9", "--plot", str(tmp_path / "out.txt")])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "--plot" in err and "file type 'txt' is not one matplotlib writes" in err and "png" in err
    assert not any(tmp_path.iterdir())
