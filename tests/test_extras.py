"""Every optional dependency hidden in turn: each command that needs it stops with exit 2 and one line naming
the extra, before it reads its inputs or starts a sweep; every --help and the base commands work without any."""
import json
import subprocess
import sys
import textwrap

import pytest

from eepart_fast import _extras
from eepart_fast.cli import build_parser

OPTIONAL = sorted(_extras.EXTRAS)

# The child hides modules as a bare install lacks them: importing one raises ModuleNotFoundError.
CHILD = textwrap.dedent("""
    import json, sys
    hidden, argv = json.loads(sys.argv[1]), json.loads(sys.argv[2])
    for name in hidden:
        sys.modules[name] = None
    from eepart_fast.cli import commands as cli
    sys.exit(cli.main(argv))
""")


def eepart(argv, hidden=OPTIONAL, cwd=None):
    r = subprocess.run([sys.executable, "-c", CHILD, json.dumps(list(hidden)), json.dumps(argv)], cwd=cwd,
                       capture_output=True, text=True, timeout=120)
    return r.returncode, r.stdout, r.stderr


def subcommands():
    action = build_parser()._subparsers._group_actions[0]
    return sorted(action.choices)


@pytest.mark.parametrize("command", [None, *subcommands()])
def test_every_help_works_with_no_optional_module(command):
    code, out, err = eepart(["--help"] if command is None else [command, "--help"])
    assert code == 0, err
    assert out.startswith("usage: eepart") and not err


def test_the_main_command_works_with_no_optional_module():
    code, out, err = eepart(["plan", "--min-accuracy", "0.9"])
    assert code == 0, err
    assert "best plan under accuracy >= 0.9" in out and "Pareto frontier" in out


def test_base_commands_work_with_no_optional_module(tmp_path):
    code, out, err = eepart(["backends"])
    assert code == 0 and "cpu" in out, err
    for name in ("rows.csv", "rows.npz"):
        code, out, err = eepart(["sweep", "--topology", "iot", "--max-latency-ms", "200", "--out",
                                 str(tmp_path / name), "--no-progress"])
        assert code == 0, err
        assert (tmp_path / name).stat().st_size > 0


def _files(tmp_path):
    """Inputs good enough to reach each command's work, so that a refusal can only be the missing extra."""
    (tmp_path / "study.yaml").write_text("name: s\nprofiles: [resnet20-fashionmnist]\ntopologies: [mobile]\n"
                                         "compute: [pareto]\n")
    (tmp_path / "plan.json").write_text("{}")
    (tmp_path / "run").mkdir()
    (tmp_path / "deploy").mkdir()
    return tmp_path


# (argv, the module hidden, the extra the line must name, files that must not appear)
CASES = [
    (["sweep", "--out", "{d}/rows.parquet"], "pyarrow", "study", "rows.parquet"),
    (["study", "{d}/study.yaml", "--out", "{d}/out"], "pyarrow", "study", "out"),
    (["study", "{d}/study.yaml", "--out", "{d}/out"], "dask", "study", "out"),
    (["study", "{d}/study.yaml", "--out", "{d}/out"], "distributed", "study", "out"),
    (["export", "--run-dir", "{d}/run", "--plan", "{d}/plan.json", "--out", "{d}/x"], "torch", "train", "x"),
    (["export", "--run-dir", "{d}/run", "--plan", "{d}/plan.json", "--out", "{d}/x"], "onnx", "runtime", "x"),
    (["export", "--run-dir", "{d}/run", "--plan", "{d}/plan.json", "--out", "{d}/x"], "onnxscript", "runtime",
     "x"),
    (["worker", "--tier", "edge", "--bind", "tcp://127.0.0.1:*", "--artifacts", "{d}/deploy"], "zmq", "runtime",
     None),
    (["worker", "--tier", "edge", "--bind", "tcp://127.0.0.1:*", "--artifacts", "{d}/deploy"], "onnxruntime",
     "runtime", None),
    (["run", "--deploy", "{d}/deploy", "--topology", "mobile", "--images", "{d}/x.npz"], "zmq", "runtime", None),
    (["run", "--deploy", "{d}/deploy", "--topology", "mobile", "--images", "{d}/x.npz"], "onnxruntime", "runtime",
     None),
    (["run", "--plan", "{d}/plan.json", "--run-dir", "{d}/run", "--topology", "mobile"],
     "torch", "train", "run/deploy"),
    (["train", "--run-dir", "{d}/train"], "torch", "train", "train"),
    (["train", "--run-dir", "{d}/train"], "torchvision", "train", "train"),
    (["profile", "--run-dir", "{d}/run", "--out", "{d}/p.json"], "torch", "train", "p.json"),
    (["validate", "--run-dir", "{d}/run", "--profile", "{d}/p.json"], "torch", "train", "run/validate"),
]


@pytest.mark.parametrize("argv, module, extra, output", CASES, ids=[f"{c[0][0]}-{c[1]}" for c in CASES])
def test_a_missing_extra_is_one_line_and_exit_2_before_any_work(tmp_path, argv, module, extra, output):
    d = _files(tmp_path)
    code, out, err = eepart([a.format(d=d) for a in argv], hidden=[module])
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert f"eepart {argv[0]}" in lines[0]
    # It names the first module the command needs that is absent: the hidden one, or one this venv lacks.
    absent = {module, *_extras.missing(*_extras.EXTRAS)}
    named = [m for m, (_, dist) in _extras.EXTRAS.items() if f"needs {dist}," in lines[0]]
    assert named and absent & set(named), lines[0]
    assert f"pip install 'eepart_fast[{_extras.EXTRAS[named[0]][0]}]'" in lines[0]
    if absent == {module}:
        assert module in named and extra == _extras.EXTRAS[module][0]
    assert not out  # nothing ran: the inputs (some of which do not exist) were not even read
    if output is not None:
        assert not (d / output).exists()


def test_require_names_the_first_missing_module(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    assert _extras.missing("numpy", "pyarrow") == ["pyarrow"]
    with pytest.raises(_extras.MissingExtra, match=r"^x needs pyarrow, .*pip install 'eepart_fast\[study\]'$"):
        _extras.require("numpy", "pyarrow", what="x")
    _extras.require("numpy", what="x")  # present: no error


def test_the_python_api_names_the_extra_too(tmp_path, monkeypatch):
    import eepart_fast as ef

    rows = ef.sweep(ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("iot"), max_latency=0.2)
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(_extras.MissingExtra, match=r"eepart_fast\[study\]"):
        rows.save(tmp_path / "rows.parquet")
    assert not list(tmp_path.iterdir())
    monkeypatch.delitem(sys.modules, "eepart_fast.study", raising=False)
    monkeypatch.delitem(vars(ef), "study", raising=False)  # set on the package by an earlier import of it
    with pytest.raises(_extras.MissingExtra, match=r"eepart_fast\[study\]"):
        ef.study  # noqa: B018


def test_every_optional_module_is_an_extra_of_pyproject():
    tomllib = pytest.importorskip("tomllib")
    from pathlib import Path

    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    if not pyproject.exists():
        pytest.skip("pyproject.toml not beside the tests")
    extras = tomllib.loads(pyproject.read_text())["project"]["optional-dependencies"]
    for module, (extra, dist) in _extras.EXTRAS.items():
        names = [d.split(">")[0].split("<")[0].split("=")[0].strip() for d in extras[extra]]
        assert dist in names, (module, extra, names)
