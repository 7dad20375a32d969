"""Hostile inputs outside the wire (issue 19 items 4 and 6): deployment folders with links, deep or huge
JSON and out-of-range fields; non-finite logits; damaged image archives; one-ulp plan ranges and bounds too
large for a float; damaged idx files, run folders and samples files. Each is refused by name (or, for
non-finite logits, recorded as an error of that sample), never a traceback.

The runtime tests use a two-partition deployment built here with onnx.helper (no torch): 1x1x2x2 images,
3 classes; partition 1's logits are 10 * pixels 0..2, partition 2's are 10 * pixels 1..3.
"""
import hashlib
import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

RUNTIME = "needs the runtime extra: pip install 'eepart_fast[runtime]'"
TRAIN = "needs the train extra: pip install 'eepart_fast[train]'"


def cli(*argv):
    from eepart_fast.cli import main
    return main([str(a) for a in argv])


def one_line(capsys, code, needle, got):
    err = capsys.readouterr().err
    assert got == code, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert re.search(needle, err), err
    return err


# --- a tiny deployment, built without torch (tests/_tiny_deploy.py) -----------------------------------

def make_deploy(folder: Path, threshold: float = 0.5) -> Path:
    """Two partitions, device then cloud, results to the cloud."""
    pytest.importorskip("onnx", reason=RUNTIME)
    from _tiny_deploy import make_deploy as tiny_deploy
    return tiny_deploy(folder, tiers=("device", "cloud"), destination="cloud", threshold=threshold)


@pytest.fixture(scope="module")
def deploy(tmp_path_factory):
    pytest.importorskip("onnxruntime", reason=RUNTIME)
    return make_deploy(tmp_path_factory.mktemp("deploy") / "d")


def edited(deploy, tmp_path, edit, raw=None) -> Path:
    """A copy of the deployment whose manifest is `edit(data)` (or the text `raw`)."""
    bad = tmp_path / "bad"
    if bad.exists():
        shutil.rmtree(bad)
    shutil.copytree(deploy, bad)
    if raw is None:
        data = json.loads((deploy / "manifest.json").read_text())
        edit(data)
        raw = json.dumps(data)
    (bad / "manifest.json").write_text(raw)
    return bad


def test_the_tiny_deployment_loads_and_runs_inline(deploy):
    from eepart_fast.runtime import load_manifest
    from eepart_fast.runtime.executor import run_plan_inline
    m = load_manifest(deploy)
    x = np.array([[1, 0, 0, 0], [0, 0, 0, 1]], np.float32).reshape(2, 1, 2, 2)
    out = run_plan_inline(m, x)
    # [10, 0, 0]: entropy far below 0.5, exits at 1 as class 0; [0, 0, 0]: entropy 1, so partition 2 gives
    # [0, 0, 10]: class 2.
    assert out["exit_partition"].tolist() == [1, 2] and out["prediction"].tolist() == [0, 2]
    assert out["error"] == [None, None]


# --- 4. files: links, and every manifest error a ManifestError naming the field ---------------------------

def test_a_partition_linked_to_a_file_outside_the_folder_is_refused_by_name(deploy, tmp_path):
    from eepart_fast.runtime import ManifestError, load_manifest
    from eepart_fast.runtime.executor import PartitionRunner
    bad = edited(deploy, tmp_path, lambda d: None)
    outside = tmp_path / "outside.onnx"
    shutil.copy(bad / "part-1.onnx", outside)  # same bytes: the sha256 alone would let it through
    (bad / "part-1.onnx").unlink()
    (bad / "part-1.onnx").symlink_to(outside)
    with pytest.raises(ManifestError, match=r"partitions\[0\].file = 'part-1.onnx'.*symbolic link"):
        load_manifest(bad)
    m = load_manifest(bad, verify=False)
    with pytest.raises(ManifestError, match=r"partitions\[0\].file = 'part-1.onnx'.*symbolic link"):
        PartitionRunner(m, m.partition(1))
    # The manifest itself through a link: refused the same way.
    other = edited(deploy, tmp_path / "o", lambda d: None)
    (other / "manifest.json").rename(tmp_path / "elsewhere.json")
    (other / "manifest.json").symlink_to(tmp_path / "elsewhere.json")
    with pytest.raises(ManifestError, match=r"manifest.json: .*symbolic link"):
        load_manifest(other)


def test_a_partition_file_swapped_after_the_check_is_refused_when_loaded(deploy, tmp_path):
    """The runner hashes the bytes it hands to onnxruntime: a file changed after load_manifest is refused."""
    from eepart_fast.runtime import ManifestError, load_manifest
    from eepart_fast.runtime.executor import PartitionRunner
    bad = edited(deploy, tmp_path, lambda d: None)
    m = load_manifest(bad)
    shutil.copy(bad / "part-2.onnx", bad / "part-1.onnx")
    with pytest.raises(ManifestError, match=r"partition 1 \(device\): part-1.onnx has sha256"):
        PartitionRunner(m, m.partition(1))


def test_a_corrupt_onnx_file_with_a_matching_checksum_is_refused_by_name(deploy, tmp_path):
    from eepart_fast.runtime import ManifestError, load_manifest
    from eepart_fast.runtime.executor import PartitionRunner
    bad = edited(deploy, tmp_path, lambda d: None)
    (bad / "part-2.onnx").write_bytes(b"\x08\xff\xff not a protobuf")
    data = json.loads((bad / "manifest.json").read_text())
    data["partitions"][1]["sha256"] = hashlib.sha256((bad / "part-2.onnx").read_bytes()).hexdigest()
    (bad / "manifest.json").write_text(json.dumps(data))
    m = load_manifest(bad)
    with pytest.raises(ManifestError, match=r"partitions\[1\].file = 'part-2.onnx' \(cloud\): onnxruntime cannot load"):
        PartitionRunner(m, m.partition(2))


def test_deeply_nested_json_is_a_manifest_error_naming_the_field(deploy, tmp_path):
    from eepart_fast.runtime import ManifestError, load_manifest
    data = json.loads((deploy / "manifest.json").read_text())
    text = json.dumps(data).replace('"classes": 3', '"classes": 3, "provenance": ' + "[" * 100000 + "]" * 100000)
    bad = edited(deploy, tmp_path, None, raw=text)
    with pytest.raises(ManifestError, match=r"model.provenance\[0\]\[0\].*: nested deeper than 32 levels"):
        load_manifest(bad, verify=False)
    # Deep inside a list of objects: the path says which element.
    text = json.dumps(data).replace('"tier": "cloud"', '"tier": "cloud", "note": {"a": ' + '{"b": ' * 40 + "1"
                                    + "}" * 41)
    bad = edited(deploy, tmp_path, None, raw=text)
    with pytest.raises(ManifestError, match=r"partitions\[1\].note.a.b.b"):
        load_manifest(bad, verify=False)
    # Brackets inside strings are no nesting.
    ok = edited(deploy, tmp_path, lambda d: d["model"].update(provenance="[" * 1000 + '\\"{' * 100))
    assert load_manifest(ok).data["model"]["provenance"].startswith("[[[")


@pytest.mark.parametrize("where,field", [(("plan", "threshold"), "plan.threshold"),
                                         (("partitions", 0, "index"), r"partitions\[0\].index"),
                                         (("model", "classes"), "model.classes"),
                                         (("partitions", 1, "blocks", 1), r"partitions\[1\].blocks"),
                                         (("version",), "version")])
def test_huge_integers_are_a_manifest_error_naming_the_field(deploy, tmp_path, where, field):
    from eepart_fast.runtime import ManifestError, load_manifest
    data = json.loads((deploy / "manifest.json").read_text())
    target = data
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = "HUGE"
    bad = edited(deploy, tmp_path, None, raw=json.dumps(data).replace('"HUGE"', "9" * 5000))
    with pytest.raises(ManifestError, match=rf"{field}.*<an integer of 5000 digits>"):
        load_manifest(bad, verify=False)


@pytest.mark.parametrize("edit,needle", [
    (lambda d: d["partitions"][0].update(index=True), r"partitions\[0\].index = True: expected 1"),
    (lambda d: d["partitions"][0].update(blocks=[True, 1]), r"partitions\[0\].blocks = \[True, 1\]"),
    (lambda d: d["plan"].update(threshold=-5), r"plan.threshold = -5: expected a normalised entropy in \[0, 1\]"),
    (lambda d: d["plan"].update(threshold=1.5), r"plan.threshold = 1.5"),
    (lambda d: d["plan"].update(destination=""), r"plan.destination = '': expected a tier name"),
    (lambda d: d["plan"].update(source=""), r"plan.source = '': expected a tier name"),
    (lambda d: d["model"].update(input_shape=[True, 2, 2]), r"model.input_shape = \[True, 2, 2\]"),
    (lambda d: d["model"].update(N=1), r"model.N = 1: expected .* >= 2"),
    (lambda d: d["plan"].update(latency="fast"), r"plan.latency = 'fast'"),
])
def test_fields_out_of_range_are_refused_by_name(deploy, tmp_path, edit, needle):
    from eepart_fast.runtime import ManifestError, load_manifest
    with pytest.raises(ManifestError, match=needle):
        load_manifest(edited(deploy, tmp_path, edit), verify=False)


def _leaf_paths(v, pre=()):
    if pre:
        yield pre
    if isinstance(v, dict):
        for k, x in v.items():
            yield from _leaf_paths(x, (*pre, k))
    elif isinstance(v, list):
        for i, x in enumerate(v):
            yield from _leaf_paths(x, (*pre, i))


HOSTILE = [None, True, -1, 0, 2**40, -5.5, 1e308, "", "../x", [], [1], {}, {"a": 1}, "HUGE", "DELETE"]


def test_every_field_replaced_by_hostile_values_is_a_manifest_error_naming_a_field(deploy, tmp_path):
    """Each field of the manifest, in turn, replaced by each hostile value (or deleted): it loads, or it is a
    ManifestError whose message names the field (or the field it contradicts); never another exception."""
    from eepart_fast.runtime import ManifestError, load_manifest
    base = json.loads((deploy / "manifest.json").read_text())
    bad = edited(deploy, tmp_path, lambda d: None)
    refused = 0
    for path in _leaf_paths(base):
        for value in HOSTILE:
            data = json.loads(json.dumps(base))
            target = data
            for key in path[:-1]:
                target = target[key]
            if value == "DELETE":
                del target[path[-1]]
            else:
                target[path[-1]] = value
            (bad / "manifest.json").write_text(json.dumps(data).replace('"HUGE"', "9" * 400))
            try:
                load_manifest(bad, verify=False)
            except ManifestError as exc:
                refused += 1
                assert re.search(r"\b(plan|model|partitions|format|version)\b", str(exc)), (path, value, str(exc))
    assert refused > 300


def test_manifest_that_is_not_text_is_a_manifest_error(deploy, tmp_path):
    from eepart_fast.runtime import ManifestError, load_manifest
    bad = edited(deploy, tmp_path, lambda d: None)
    (bad / "manifest.json").write_bytes(b"\xff\xfe{}")
    with pytest.raises(ManifestError, match="manifest.json: not UTF-8"):
        load_manifest(bad)


# --- 4. the exit rule: non-finite logits are an error of the sample ----------------------------------------

def test_normalised_entropy_of_non_finite_logits_is_nan_not_zero():
    from eepart_fast.runtime.executor import logits_error, normalised_entropy
    z = np.array([[10.0, 0.0, 0.0], [np.nan, 0, 0], [np.inf, np.inf, 0], [-np.inf, 0, 0], [0, 0, 0]])
    got = normalised_entropy(z)
    p = np.array([math.exp(10), 1, 1]) / (math.exp(10) + 2)  # by hand
    assert got[0] == pytest.approx(float(-(p * np.log(p)).sum() / math.log(3)), rel=1e-12)
    assert np.isnan(got[1:4]).all() and got[4] == pytest.approx(1.0)
    assert not (got[1:4] < 0.5).any()  # NaN never passes the exit rule
    assert logits_error(z[:1], 1) is None
    assert logits_error(z[2:3], 2) == "non-finite logits at partition 2 (0 NaN, 2 infinite of 3)"


def test_nan_images_are_errors_of_their_samples_inline(deploy):
    from eepart_fast.runtime import load_manifest
    from eepart_fast.runtime.executor import run_plan_inline
    x = np.array([[np.nan, 0, 0, 0], [np.inf, np.inf, 0, 0], [0, 0, 0, np.nan], [1, 0, 0, 0]],
                 np.float32).reshape(4, 1, 2, 2)
    out = run_plan_inline(load_manifest(deploy), x)
    # Pixel 3 is only read by partition 2: that sample's error is at partition 2.
    assert out["error"][:3] == ["non-finite logits at partition 1 (1 NaN, 0 infinite of 3)",
                                "non-finite logits at partition 1 (0 NaN, 2 infinite of 3)",
                                "non-finite logits at partition 2 (1 NaN, 0 infinite of 3)"]
    assert out["exit_partition"].tolist() == [1, 1, 2, 1] and out["prediction"].tolist() == [-1, -1, -1, 0]
    assert out["error"][3] is None


def test_nan_images_are_errors_in_the_distributed_run_records(deploy, tmp_path):
    pytest.importorskip("zmq", reason=RUNTIME)
    from eepart_fast import Topology
    from eepart_fast.runtime import run_local
    x = np.array([[np.nan, 0, 0, 0], [0, 0, 0, np.nan], [1, 0, 0, 0], [0, 0, 0, 1]],
                 np.float32).reshape(4, 1, 2, 2)
    topo = Topology.chain(["device", "cloud"], [1.0, 1.0], [1e9], [0.0001])
    result = run_local(deploy, topo, x, np.array([0, 2, 0, 2]), clock="none", timeout=20.0,
                       records_path=tmp_path / "r.jsonl")
    recs = result.records
    assert [r.get("error") for r in recs] == ["non-finite logits at partition 1 (1 NaN, 0 infinite of 3)",
                                              "non-finite logits at partition 2 (1 NaN, 0 infinite of 3)",
                                              None, None]
    assert [r["prediction"] for r in recs] == [None, None, 0, 2]
    assert [r["correct"] for r in recs] == [False, False, True, True]
    assert [r["exit_partition"] for r in recs] == [1, 2, 1, 2]
    s = result.summary()
    assert s["errors"] == 2 and s["error_fraction"] == 0.5 and s["accuracy"] == 0.5
    assert s["exit_fraction"] == [0.25, 0.25]  # the failed samples exited nowhere
    written = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert sorted(r.get("error") or "" for r in written)[2:] == [recs[0]["error"], recs[1]["error"]]


# --- 6. eepart run --images: a file that is no archive ------------------------------------------------------

@pytest.mark.parametrize("content,needle", [
    (b"PK\x03\x04 truncated zip", r"--images .*x.npz: not an .npz archive .*BadZipFile"),
    (b"just some text", r"--images .*x.npz: not an .npz archive"),
    (None, r"--images .*x.npz: a single .npy array"),
])
def test_run_images_that_are_not_an_archive_one_line(deploy, tmp_path, capsys, content, needle):
    pytest.importorskip("zmq", reason=RUNTIME)
    f = tmp_path / "x.npz"
    if content is None:
        with open(f, "wb") as fh:
            np.save(fh, np.zeros((2, 1, 2, 2), np.float32))
    else:
        f.write_bytes(content)
    topo = tmp_path / "t.json"
    topo.write_text(json.dumps({"names": ["device", "cloud"], "ratio": [1, 1], "bandwidth": [1e9],
                                "latency": [0.0001]}))
    one_line(capsys, 2, needle, cli("run", "--deploy", deploy, "--images", f, "--topology", topo,
                                     "--no-progress"))


# --- 6. plan tables one ulp wide, and bounds too large for a float -------------------------------------------

@pytest.fixture(scope="module")
def planner():
    import eepart_fast as ef
    return ef.Planner(ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile"))


def plan_at(planner, parameter, value, **bound):
    """The plan a Planner with the parameter (link 0's) set to value gives: the table's answer must be it."""
    import copy
    p = copy.copy(planner)
    (p.set_bandwidth if parameter == "bandwidth" else p.set_latency)(0, value)
    return p.min_latency(**bound) if "min_accuracy" in bound else p.max_accuracy(**bound)


@pytest.mark.parametrize("parameter,value", [("bandwidth", 1e6), ("bandwidth", 7e6), ("latency", 0.01)])
@pytest.mark.parametrize("bound", [{"min_accuracy": 0.8}, {"max_latency": 0.2}])
@pytest.mark.parametrize("width", ["ulp", "zero"])
def test_a_plan_table_one_ulp_or_zero_wide_is_the_one_plan_there(planner, parameter, value, bound, width):
    high = float(np.nextafter(value, 2 * value)) if width == "ulp" else value
    if parameter == "bandwidth" and width == "ulp":
        assert 1 / value == 1 / high  # the ends share one affine coordinate: the case that gave no rows
    table = planner.plan_table(parameter, 0, value, high, **bound)
    assert len(table.rows) == 1 and table.breakpoints == []
    row = table.rows[0]
    assert (row.low, row.high) == (value, high)
    want = plan_at(planner, parameter, value, **bound)
    assert want is not None and row.config == want.config()
    for v in (value, high):
        got = table.at(v)
        assert got.config() == want.config() and got.latency == pytest.approx(want.latency, rel=1e-12)
    assert row.latency_low == pytest.approx(want.latency, rel=1e-12)


def test_plan_over_one_ulp_on_the_command_line_prints_the_plan(capsys):
    assert cli("plan", "--profile", "resnet20-fashionmnist", "--topology", "mobile", "--over",
               "bandwidth:0:1000000:1000000.0000000001", "--min-accuracy", "0.8") == 0
    out = capsys.readouterr().out
    assert "1 intervals, 0 breakpoints" in out and "no configuration meets the bound" not in out


def test_range_low_above_high_still_refused(planner):
    with pytest.raises(ValueError, match=r"low = 2000000.0, high = 1000000.0: the range needs low < high"):
        planner.plan_table("bandwidth", 0, 2e6, 1e6, min_accuracy=0.8)


def test_bounds_too_large_for_a_float(planner):
    import math
    # As a bound of one plan, 10**400 compares as +inf does: no latency bound, no plan reaching it.
    assert planner.max_accuracy(max_latency=10**400).config() == planner.max_accuracy(max_latency=math.inf).config()
    assert planner.min_latency(min_accuracy=10**400) is None and planner.max_accuracy(max_latency=-10**400) is None
    assert planner.min_latency(min_accuracy=-10**400).config() == planner.min_latency(min_accuracy=-math.inf).config()
    # A plan table's bound and range ends are finite: refused by name.
    with pytest.raises(ValueError, match=r"max_latency = an integer of 401 digits: too large for a float64"):
        planner.plan_table("bandwidth", 0, 1e6, 1e7, max_latency=10**400)
    with pytest.raises(ValueError, match=r"min_accuracy = an integer of 401 digits"):
        planner.plan_table("bandwidth", 0, 1e6, 1e7, min_accuracy=10**400)
    with pytest.raises(ValueError, match=r"high = an integer of 401 digits"):
        planner.plan_table("bandwidth", 0, 1e6, 10**400, min_accuracy=0.8)
    # A network value: refused by name too.
    import copy
    with pytest.raises(ValueError, match=r"bandwidth\[0\] = an integer of 401 digits: too large for a float64"):
        copy.copy(planner).set_bandwidth(0, 10**400)
    with pytest.raises(TypeError, match=r"latency\[smartphone,edge server\] = True: expected a number"):
        planner.set_latency(("smartphone", "edge server"), True)


# --- 6. eepart train: idx files read by their header, bounded by its claim ---------------------------------

def idx_bytes(arr: np.ndarray, code: int = 0x08, shape=None) -> bytes:
    shape = arr.shape if shape is None else shape
    return bytes([0, 0, code, len(shape)]) + b"".join(int(s).to_bytes(4, "big") for s in shape) + arr.tobytes()


def fmnist_folder(folder: Path, size=(28, 28), n_train=40, n_test=10, edit=None) -> Path:
    """Four gzipped idx files shaped like Fashion-MNIST's (random pixels); `edit(name, raw) -> raw`."""
    import gzip
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    arrays = {"train-images-idx3-ubyte": rng.integers(0, 256, (n_train, *size), dtype=np.uint8),
              "train-labels-idx1-ubyte": (np.arange(n_train) % 10).astype(np.uint8),
              "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, *size), dtype=np.uint8),
              "t10k-labels-idx1-ubyte": (np.arange(n_test) % 10).astype(np.uint8)}
    for name, arr in arrays.items():
        raw = idx_bytes(arr)
        if edit is not None:
            raw = edit(name, raw)
        (folder / (name + ".gz")).write_bytes(gzip.compress(raw, compresslevel=1))
    return folder


def test_idx_decompression_is_bounded_by_the_header(tmp_path):
    """A gzip file whose header claims 10 images but whose stream inflates to 64 MiB: only the claim (and
    one byte more, to see the excess) is ever decompressed."""
    pytest.importorskip("torch", reason=TRAIN)
    import gzip
    import tracemalloc

    from eepart_fast.nn.data import read_idx
    bomb = tmp_path / "bomb.gz"
    header = idx_bytes(np.zeros(0, np.uint8), shape=(10, 28, 28))
    with gzip.open(bomb, "wb", compresslevel=9) as f:
        f.write(header)
        zeros = bytes(1 << 20)
        for _ in range(64):
            f.write(zeros)
    assert bomb.stat().st_size < 1 << 20  # small on disk
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"bomb.gz: more data than the header's shape \[10, 28, 28\] claims "
                                             r"\(7840 bytes\)"):
            read_idx(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, peak  # reading it all first took 64 MiB
    # A header that claims more than the cap: refused before any data is read.
    huge = tmp_path / "huge.gz"
    huge.write_bytes(gzip.compress(idx_bytes(np.zeros(0, np.uint8), shape=(3_000_000, 28, 28))))
    with pytest.raises(ValueError, match=r"huge.gz: header claims shape \[3000000, 28, 28\] \(2352000000 bytes"):
        read_idx(huge)


def _truncate_header(name, raw):
    return raw[:6] if name == "train-images-idx3-ubyte" else raw


def _wrong_magic(name, raw):
    return b"\x01\x02" + raw[2:] if name == "t10k-labels-idx1-ubyte" else raw


def _dims_mismatch(name, raw):  # an images header with 2 dimensions
    if name != "t10k-images-idx3-ubyte":
        return raw
    return bytes([0, 0, 8, 2]) + (10).to_bytes(4, "big") + (784).to_bytes(4, "big") + raw[16:]


def _short_data(name, raw):
    return raw[:-100] if name == "train-images-idx3-ubyte" else raw


def _more_labels(name, raw):
    return idx_bytes((np.arange(12) % 10).astype(np.uint8)) if name == "t10k-labels-idx1-ubyte" else raw


def _label_10(name, raw):
    return raw[:-1] + bytes([10]) if name == "train-labels-idx1-ubyte" else raw


@pytest.mark.parametrize("edit,needle", [
    (_truncate_header, r"train-images-idx3-ubyte.gz: truncated header \(6 bytes, 3 dimensions need 16\)"),
    (_wrong_magic, r"t10k-labels-idx1-ubyte.gz: not an idx file \(bad magic"),
    (_dims_mismatch, r"t10k-images-idx3-ubyte.gz: shape \[10, 784\] in the header, expected 3 dimensions"),
    (_short_data, r"train-images-idx3-ubyte.gz: data shorter than the header claims \(31260 of 31360 bytes"),
    (_more_labels, r"t10k-labels-idx1-ubyte.gz: 12 labels for the 10 images"),
    (_label_10, r"train-labels-idx1-ubyte.gz: label 10 at index 39; Fashion-MNIST has classes 0..9"),
])
def test_malformed_idx_files_are_one_line_naming_the_file(tmp_path, capsys, edit, needle):
    pytest.importorskip("torch", reason=TRAIN)
    data = fmnist_folder(tmp_path / "d", edit=edit)
    one_line(capsys, 2, needle, cli("train", "--data-dir", data, "--run-dir", tmp_path / "run", "--profile-size",
                                    "5", "--no-progress"))
    assert not (tmp_path / "run").exists()  # refused before the run folder is made


def test_images_of_another_size_are_not_fashion_mnist(tmp_path, capsys):
    pytest.importorskip("torch", reason=TRAIN)
    data = fmnist_folder(tmp_path / "d", size=(32, 32))
    one_line(capsys, 2, r"train-images-idx3-ubyte.gz: shape \[40, 32, 32\] in the header, expected \[n, 28, 28\]",
             cli("train", "--data-dir", data, "--run-dir", tmp_path / "run", "--profile-size", "5", "--no-progress"))


# --- 6. eepart profile: damaged run folders ----------------------------------------------------------------

@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    torch = pytest.importorskip("torch", reason=TRAIN)
    root = tmp_path_factory.mktemp("run")
    data = fmnist_folder(root / "data")
    before = torch.get_num_threads()
    try:
        assert cli("train", "--backbone", "resnet8", "--data-dir", data, "--run-dir", root / "run", "--profile-size",
                   "10", "--epochs", "1", "--max-batches", "1", "--batch-size", "16", "--separate", "none",
                   "--threads", "1", "--no-progress") == 0
    finally:
        torch.set_num_threads(before)
    return root / "run"


@pytest.fixture
def torch_threads():
    """--threads 1 sets torch's threads for the process: restored after the test."""
    torch = pytest.importorskip("torch", reason=TRAIN)
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def _spec_edit(key, value):
    def edit(run):
        spec = json.loads((run / "run.json").read_text())
        spec[key] = value
        (run / "run.json").write_text(json.dumps(spec))
    return edit


def _foreign_weights(run):
    import torch
    ck = torch.load(run / "joint.pt", weights_only=True)
    ck["model"] = {"x": torch.zeros(2)}
    torch.save(ck, run / "joint.pt")


@pytest.mark.parametrize("damage,needle", [
    (lambda run: (run / "run.json").unlink(), r"has no run.json: train first"),
    (lambda run: (run / "run.json").write_text("{not json"), r"run.json: not a run.json \(JSONDecodeError"),
    (lambda run: (run / "run.json").write_text("[1, 2]"),
     r"run.json: expected a JSON object of run settings, got list"),
    (_spec_edit("colour", "red"), r"run.json: field 'colour' is not a run setting"),
    (_spec_edit("joint", [1]), r"run.json: joint = \[1\]: expected an object of training settings"),
    (_spec_edit("limit", "x"), r"run.json: limit = x: expected an integer >= 1 or null"),
    (_spec_edit("separate", "bogus"), r"run.json: separate = bogus: expected one of"),
    (lambda run: (run / "joint.pt").unlink(), r"joint.pt: missing; finish training first"),
    (lambda run: (run / "joint.pt").write_bytes((run / "joint.pt").read_bytes()[:999]),
     r"joint.pt: not a torch checkpoint"),
    (lambda run: (run / "joint.pt").write_bytes(b""), r"joint.pt: not a torch checkpoint"),
    (_spec_edit("backbone", "resnet20"), r"joint.pt: weights do not fit this run's network \(Missing key"),
    (_foreign_weights, r"joint.pt: weights do not fit this run's network"),
])
def test_damaged_run_folders_are_one_line(trained_run, tmp_path, capsys, torch_threads, damage, needle):
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    damage(run)
    one_line(capsys, 2, needle, cli("profile", "--run-dir", run, "--out", tmp_path / "p.json", "--timing-samples",
                                    "2", "--warmup", "0", "--thresholds", "3", "--threads", "1", "--no-progress"))


def test_the_undamaged_run_profiles(trained_run, tmp_path, capsys, torch_threads):
    assert cli("profile", "--run-dir", trained_run, "--out", tmp_path / "p.json", "--timing-samples", "2", "--warmup",
               "0", "--thresholds", "3", "--threads", "1", "--no-progress") == 0
    from eepart_fast import Profile
    assert Profile.load(tmp_path / "p.json").N == 4  # resnet8: 4 blocks


def test_checkpoints_are_loaded_weights_only():
    """torch.load never unpickles arbitrary objects: every call in the package passes weights_only=True."""
    root = Path(__file__).resolve().parents[1] / "python" / "eepart_fast"
    calls = [(p.name, line.strip()) for p in root.rglob("*.py") for line in p.read_text().splitlines()
             if "torch.load(" in line and not line.strip().startswith("#")]
    assert calls and all("weights_only=True" in line for _, line in calls), calls


# --- 6. eepart validate: a damaged samples file ------------------------------------------------------------

@pytest.fixture
def profile_with_records(tmp_path):
    import eepart_fast as ef
    p = ef.Profile.preset("resnet20-fashionmnist")
    p.save(tmp_path / "p.json")
    return tmp_path / "p.json", tmp_path / "p.samples.npz", p.N


def _write_samples(path, kind, N):
    rng = np.random.default_rng(0)
    if kind == "good":
        np.savez(path, norm_entropy=rng.random((50, N)), correct=rng.random((50, N)) < 0.8)
    elif kind == "no norm_entropy":
        np.savez(path, correct=np.zeros((50, N), bool))
    elif kind == "not a zip":
        path.write_text("hello")
    elif kind == "truncated zip":
        np.savez(path, norm_entropy=rng.random((50, N)), correct=rng.random((50, N)) < 0.8)
        path.write_bytes(path.read_bytes()[:300])
    elif kind == "all NaN":
        np.savez(path, norm_entropy=np.full((50, N), np.nan), correct=np.zeros((50, N), bool))
    elif kind == "other N":
        np.savez(path, norm_entropy=rng.random((50, N + 1)), correct=np.zeros((50, N + 1), bool))
    elif kind == "correct not 0/1":
        np.savez(path, norm_entropy=rng.random((50, N)), correct=np.full((50, N), 2))


@pytest.mark.parametrize("kind,needle", [
    ("no norm_entropy", r"p.samples.npz: no array 'norm_entropy' \(it holds \['correct'\]\)"),
    ("not a zip", r"p.samples.npz: not a records archive"),
    ("truncated zip", r"p.samples.npz: not a records archive \(.npz; BadZipFile"),
    ("all NaN", r"p.samples.npz: norm_entropy\[0, 0\] = nan \(500 of 500 such\): expected a normalised entropy"),
    ("other N", r"p.samples.npz: norm_entropy of shape \(50, 11\) .*N = 10"),
    ("correct not 0/1", r"p.samples.npz: correct of shape \(50, 10\) \(int64\), expected booleans"),
])
@pytest.mark.parametrize("mode", ["write-profile", "report-only"])
def test_damaged_samples_files_are_one_line(profile_with_records, tmp_path, capsys, kind, needle, mode):
    profile, samples, N = profile_with_records
    _write_samples(samples, kind, N)
    args = (["--write-profile", tmp_path / "out.json"] if mode == "write-profile"
            else ["--run-dir", tmp_path, "--report-only", "--out-dir", tmp_path / "v"])
    one_line(capsys, 2, needle, cli("validate", "--profile", profile, *args))


def test_a_good_samples_file_still_gives_the_fitted_profile(profile_with_records, tmp_path, capsys):
    profile, samples, N = profile_with_records
    _write_samples(samples, "good", N)
    assert cli("validate", "--profile", profile, "--write-profile", tmp_path / "out.json") == 0
    assert "accuracy: fitted, shape 20x10" in capsys.readouterr().out


def test_eepart_run_reports_the_failed_samples(deploy, tmp_path, capsys):
    pytest.importorskip("zmq", reason=RUNTIME)
    f = tmp_path / "x.npz"
    np.savez(f, x=np.array([[np.nan, 0, 0, 0], [1, 0, 0, 0]], np.float32).reshape(2, 1, 2, 2), y=np.array([0, 0]))
    topo = tmp_path / "t.json"
    topo.write_text(json.dumps({"names": ["device", "cloud"], "ratio": [1, 1], "bandwidth": [1e9],
                                "latency": [0.0001]}))
    assert cli("run", "--deploy", deploy, "--images", f, "--topology", topo, "--clock", "none", "--no-progress",
               "--summary", tmp_path / "s.json") == 0
    out = capsys.readouterr().out
    assert "accuracy 0.5000; exit fractions 0.500 0.000" in out
    assert ("1 samples failed (50.0 %), counted as wrong; the first: sample 0: non-finite logits at partition 1 "
            "(1 NaN, 0 infinite of 3)") in out
    s = json.loads((tmp_path / "s.json").read_text())["summary"]
    assert (s["errors"], s["error_fraction"]) == (1, 0.5)


def test_resuming_training_from_foreign_weights_is_one_line(trained_run, tmp_path, capsys, torch_threads):
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    _foreign_weights(run)
    spec = json.loads((run / "run.json").read_text())
    one_line(capsys, 2, r"joint.pt: weights do not fit this run's network \(Missing key",
             cli("train", "--backbone", "resnet8", "--data-dir", spec["data_dir"], "--run-dir", run, "--profile-size",
                 "10", "--epochs", "1", "--max-batches", "1", "--batch-size", "16", "--separate", "none",
                 "--threads", "1", "--no-progress"))


@pytest.mark.parametrize("damage,needle", [
    ("link", r"partitions\[1\].file = 'part-2.onnx' \(cloud\): .*part-2.onnx is a symbolic link"),
    ("huge", r"plan.threshold = <an integer of 5000 digits>"),
    ("deep", r"model.provenance\[0\]\[0\].*nested deeper than 32 levels"),
])
def test_eepart_run_refuses_a_hostile_deployment_in_one_line(deploy, tmp_path, capsys, damage, needle):
    pytest.importorskip("zmq", reason=RUNTIME)
    text = (deploy / "manifest.json").read_text()
    if damage == "huge":
        text = text.replace('"threshold": 0.5', '"threshold": ' + "9" * 5000)
    elif damage == "deep":
        text = text.replace('"classes": 3', '"classes": 3, "provenance": ' + "[" * 50000 + "]" * 50000)
    bad = edited(deploy, tmp_path, None, raw=text)
    if damage == "link":
        shutil.move(bad / "part-2.onnx", tmp_path / "elsewhere.onnx")
        (bad / "part-2.onnx").symlink_to(tmp_path / "elsewhere.onnx")
    f = tmp_path / "x.npz"
    np.savez(f, x=np.zeros((1, 1, 2, 2), np.float32))
    one_line(capsys, 2, needle, cli("run", "--deploy", bad, "--images", f, "--topology", "mobile", "--no-progress"))


def test_profiling_a_network_with_nan_weights_is_one_line(trained_run, tmp_path, capsys, torch_threads):
    """NaN outputs would score entropy 0 and exit everywhere at the first branch: refused instead."""
    import torch
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    ck = torch.load(run / "joint.pt", weights_only=True)
    key = next(k for k in ck["model"] if k.startswith("branches.") and k.endswith(".weight"))
    ck["model"][key] = torch.full_like(ck["model"][key], float("nan"))
    torch.save(ck, run / "joint.pt")
    exit_ = int(key.split(".")[1])
    one_line(capsys, 2, rf"exit {exit_} of the trained network gives non-finite outputs on profiling sample 0 "
                        r"\(10 of 10 samples\)",
             cli("profile", "--run-dir", run, "--out", tmp_path / "p.json", "--timing-samples", "2", "--warmup", "0",
                 "--thresholds", "3", "--threads", "1", "--no-progress"))
    assert not (tmp_path / "p.json").exists()


def test_the_profilers_entropy_of_non_finite_probabilities_is_nan():
    from eepart_fast.io.records import exit_points, normalised_entropy
    e = normalised_entropy(np.array([[[1.0, 0.0], [np.nan, np.nan]], [[0.5, 0.5], [1.0, 0.0]]]))
    assert e[0, 0] == 0.0 and np.isnan(e[0, 1]) and e[1, 0] == pytest.approx(1.0) and e[1, 1] == 0.0
    assert exit_points(e, 0.5).tolist() == [0, 1]
