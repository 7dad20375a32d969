"""Link traces: the CSV read and refused by file, row and value; transfer times over a step trace computed
by hand; the link emulator following a bandwidth and a delay trace; the shipped traces as their script makes
them. No processes, no sockets."""
import importlib.util
import math
from pathlib import Path

import pytest

from eepart_fast.runtime.netem import LinkEmulator, link_ids, resolve_traces
from eepart_fast.runtime.trace import Trace, load_trace, save_trace

ROOT = Path(__file__).resolve().parents[1]
CHAIN = {"names": ["device", "edge", "cloud"], "ratio": [3.0, 2.0, 1.0], "bandwidth": [1e6, 4e6],
         "latency": [0.01, 0.02]}


def write(tmp_path, text, name="t.csv"):
    f = tmp_path / name
    f.write_text(text)
    return f


def test_trace_roundtrip_and_step_values(tmp_path):
    f = write(tmp_path, "time_s,value\n0,1e6\n\n2.5,3e6\n4,5e5\n")
    t = load_trace(f)
    assert t.times == (0.0, 2.5, 4.0) and t.values == (1e6, 3e6, 5e5)
    assert [t.value_at(x) for x in (-1, 0, 2.4999, 2.5, 3.9, 4, 1e6)] == [1e6, 1e6, 1e6, 3e6, 3e6, 5e5, 5e5]
    # time-weighted mean over [0, 6]: (2.5 * 1e6 + 1.5 * 3e6 + 2 * 5e5) / 6
    assert t.mean(duration=6.0) == pytest.approx((2.5e6 + 4.5e6 + 1e6) / 6, rel=1e-12)
    save_trace(t, tmp_path / "back.csv")
    assert load_trace(tmp_path / "back.csv") == Trace(t.times, t.values, "bandwidth", str(tmp_path / "back.csv"))
    d = load_trace(write(tmp_path, "time_s,value\n0,0.01\n1,0\n", "d.csv"), kind="latency")
    assert d.values == (0.01, 0.0)


@pytest.mark.parametrize("text, says", [
    ("t,value\n0,1\n", "row 1"),
    ("time_s,value\n", "no rows"),
    ("time_s,value\n0,1e6\n1,2e6,3\n", "row 3 = ['1', '2e6', '3']: expected two columns"),
    ("time_s,value\n0,fast\n", "row 2 = ['0', 'fast']: expected two numbers"),
    ("time_s,value\n1,1e6\n", "row 2: time_s = 1.0: the first row's time must be 0"),
    ("time_s,value\n0,1e6\n\n2,1e6\n2,3e6\n", "row 5: time_s = 2.0: times must rise strictly"),
    ("time_s,value\n0,1e6\n1,nan\n", "row 3: value = nan"),
    ("time_s,value\n0,1e6\n1,-5\n", "row 3: value = -5.0: expected a bandwidth in [1, 1e+15] bit/s"),
    ("time_s,value\n0,1e6\ninf,1e6\n", "row 3: time_s = inf"),
])
def test_bad_traces_are_refused_by_file_row_and_value(tmp_path, text, says):
    f = write(tmp_path, text)
    with pytest.raises(ValueError) as e:
        load_trace(f)
    assert str(f) in str(e.value) and says in str(e.value)


def test_bad_trace_files_and_kinds(tmp_path):
    with pytest.raises(ValueError, match="no such trace file"):
        load_trace(tmp_path / "none.csv")
    with pytest.raises(ValueError, match="kind = 'speed'"):
        load_trace(write(tmp_path, "time_s,value\n0,1\n"), kind="speed")
    with pytest.raises(ValueError, match=r"row 2: value = 4000.0: expected a latency in \[0, 3600\] s"):
        load_trace(write(tmp_path, "time_s,value\n0,4000\n"), kind="latency")


def test_transfer_time_over_a_step_by_hand():
    t = Trace((0.0, 10.0, 12.0), (1e6, 4e6, 2e6), "bandwidth")
    assert t.finish(1.0, bits=5e5) == 1.5                       # inside one step
    assert t.finish(9.0, bits=3e6) == 10.5                      # 1e6 bits before 10 s, 2e6 at 4 Mbit/s
    assert t.finish(9.0, bits=1e6 + 8e6 + 2e6) == 13.0          # across two steps, then the last value holds
    assert t.finish(100.0, bits=2e6) == 101.0
    # time-scaled: trace time = 2 x (real - t0); the step at trace 10 s is at real 5 + 100 = 105 s
    assert t.finish(104.5, bits=2.5e6, speed=2.0, t0=100.0) == 105.5     # 5e5 bits at 1 Mbit/s, 2e6 at 4
    with pytest.raises(ValueError, match="latency trace has no transfer time"):
        Trace((0.0,), (0.01,), "latency").finish(0.0, bits=1.0)


def test_link_emulator_follows_its_traces_both_ways():
    bw = Trace((0.0, 10.0), (1e6, 4e6), "bandwidth")
    delay = Trace((0.0, 10.2), (0.05, 0.002), "latency")
    emu = LinkEmulator(CHAIN, {"device-edge": {"bandwidth": bw, "latency": delay}})
    # before `start`: every trace holds its first value
    arrive, hops = emu.schedule("device", "edge", 1e5, 50.0, {})
    assert (hops[0]["sent"], arrive) == (50.1, pytest.approx(50.15))
    emu.start(100.0)
    arrive, hops = emu.schedule("device", "edge", 3e6, 109.0, {})       # 1 s at 1 Mbit/s + 0.5 s at 4
    assert hops[0]["sent"] == 110.5 and hops[0]["transfer"] == 1.5 and arrive == pytest.approx(110.502)
    arrive, hops = emu.schedule("edge", "device", 4e5, 110.0, {})       # the other direction: its own FIFO
    assert hops[0]["link"] == "edge-device" and hops[0]["sent"] == 110.1
    arrive, hops = emu.schedule("device", "cloud", 4e6, 110.0, {})      # waits for the first, then 1 s
    assert [h["link"] for h in hops] == ["device-edge", "edge-cloud"]
    assert hops[0]["start"] == 110.5 and hops[0]["sent"] == 111.5
    assert hops[1]["start"] == pytest.approx(111.502) and hops[1]["transfer"] == 1.0   # no trace: 4 Mbit/s
    assert arrive == pytest.approx(111.502 + 1.0 + 0.02)


def test_links_named_and_refused():
    assert link_ids(CHAIN, 1) == (1, ("edge-cloud", "cloud-edge"))
    assert link_ids(CHAIN, "cloud-edge")[0] == link_ids(CHAIN, "edge,cloud")[0] == link_ids(CHAIN, "1")[0] == 1
    for bad, says in ((2, "expected an index 0..1"), ("device-cloud", "two neighbouring tiers"),
                      ("phone-edge", "two neighbouring tiers")):
        with pytest.raises(ValueError, match=says):
            link_ids(CHAIN, bad)
    routes = {"names": ["a", "b"], "ratio": [1, 1], "path_latency": [[0, 0], [0, 0]],
              "path_inv_bandwidth": [[0, 1e-6], [1e-6, 0]]}
    with pytest.raises(ValueError, match="given as routes"):
        link_ids(routes, 0)


def test_run_traces_resolved_before_anything_starts(tmp_path):
    good = write(tmp_path, "time_s,value\n0,1e6\n")
    out = resolve_traces({"device-edge": good, "1:latency": Trace((0.0,), (0.03,), "latency")}, CHAIN, tmp_path)
    assert out["0"] == {"bandwidth": str(good.resolve())}
    assert load_trace(out["1"]["latency"], kind="latency").values == (0.03,)
    bad = write(tmp_path, "time_s,value\n0,1e6\n0,2e6\n", "bad.csv")
    with pytest.raises(ValueError, match=r"bad.csv: row 3"):
        resolve_traces({"0": bad}, CHAIN, tmp_path)
    with pytest.raises(ValueError, match="link 0 has a bandwidth trace already"):
        resolve_traces({"0": good, "device-edge": good}, CHAIN, tmp_path)
    with pytest.raises(ValueError, match="a bandwidth trace given as latency"):
        resolve_traces({"0:latency": Trace((0.0,), (1e6,), "bandwidth")}, CHAIN, tmp_path)


def test_shipped_traces_are_their_script_output(tmp_path):
    spec = importlib.util.spec_from_file_location("make_traces", ROOT / "experiments" / "make_traces.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    made = mod.traces()
    assert set(made) == {"steady", "step", "fade", "bursty"}
    for name, trace in made.items():
        shipped = load_trace(ROOT / "experiments" / "traces" / f"{name}.csv")
        assert (shipped.times, shipped.values) == (trace.times, trace.values), name
        assert all(math.isfinite(v) and v >= 5e5 for v in shipped.values)
