"""bench/report.py, the one renderer of benchmark numbers: its tables hold what a saved run holds (median,
spread over rounds, ratio within a group), and README's benchmark block is what the committed runs give."""
import importlib.util
import json

import pytest

from _docblocks import README, ROOT

REPORT = ROOT / "bench" / "report.py"
pytestmark = pytest.mark.skipif(not REPORT.exists(), reason="bench/ not beside the tests")


@pytest.fixture
def report(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("bench_report_under_test", REPORT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _bench(group, name, times, **info):
    s = sorted(times)
    n = len(s)
    median = s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2
    q1, q3 = s[n // 4], s[(3 * n) // 4]  # crude quartiles: the tests only need a known value
    return {"group": group, "name": name, "extra_info": info,
            "stats": {"min": s[0], "max": s[-1], "median": median, "iqr": q3 - q1, "rounds": n}}


def _save(history, run_id, benchmarks, commit="0123456789abcdef"):
    folder = history / "Linux-CPython-3.11-64bit"
    folder.mkdir(parents=True, exist_ok=True)
    data = {"datetime": "2026-12-06T07:00:00", "commit_info": {"id": commit},
            "machine_info": {"cpu": {"brand_raw": "Test CPU", "count": 2}}, "benchmarks": benchmarks}
    (folder / f"{run_id}_{commit}_20261206_070000.json").write_text(json.dumps(data))


def test_group_table_medians_spreads_and_ratios(report, tmp_path):
    report.HISTORY = tmp_path
    _save(tmp_path, "0001", [
        _bench("N30-M5-K20", "test_pareto[N30-M5-K20]", [0.004, 0.005, 0.006], configurations=412835400,
               load_average=[1.5, 1, 1]),
        _bench("N30-M5-K20", "test_sweep_and_frontier[N30-M5-K20]", [0.08], load_average=[2.5, 1, 1]),
        _bench("other", "test_other", [1.0, 1.0]),
    ])
    text = report.group_table(r"^N30")
    # 5 ms median, IQR (6 - 4) = 2 ms over 5 ms = 40 % spread; 80 ms / 5 ms = 16x; one round has no spread
    assert "| `pareto[N30-M5-K20]` | 5 ms | 40% | 1.00× | 3 | 412,835,400 |" in text
    assert "| `sweep_and_frontier[N30-M5-K20]` | 80 ms | – | 16.00× | 1 | – |" in text
    assert "test_other" not in text and "other" not in text.split("**")[1]
    assert "saved run 0001" in text and "commit 0123456" in text and "load average 1.5–2.5" in text


def test_newest_run_holding_the_group_is_used(report, tmp_path):
    report.HISTORY = tmp_path
    _save(tmp_path, "0001", [_bench("replan", "test_a", [0.002])])
    _save(tmp_path, "0002", [_bench("sweep", "test_b", [0.003])])
    _save(tmp_path, "0003", [_bench("replan", "test_a", [0.001])])
    assert report.latest("^replan")[0] == "0003"
    assert report.latest("^sweep")[0] == "0002"
    assert report.latest("^nothing") is None
    assert "No saved run" in report.group_table("^nothing")


def test_readme_headline_ratio(report, tmp_path):
    report.HISTORY = tmp_path
    report.GPU_RESULTS = tmp_path / "absent.json"
    _save(tmp_path, "0001", [_bench("N30-M5-K20", "test_pareto[N30-M5-K20]", [0.0005]),
                             _bench("N30-M5-K20", "test_sweep_and_frontier[N30-M5-K20]", [0.05])])
    text = report.render_readme()
    assert "in 500 µs, 100× faster than the compiled sweep" in text.replace("\n", " ")
    assert "PORTEND" not in text  # no saved run has its group: no sentence, no number


def test_readme_block_is_what_the_saved_runs_give(report):
    assert report.readme_block(README.read_text()) == report.render_readme(), \
        "README's benchmark block is stale: python bench/report.py --readme"
