"""Every benchmark number that README and the docs quote, rendered from one saved run of `bench/run.sh`
(pytest-benchmark's autosave under bench/history/) and the GPU run's results (bench/results/): nothing is typed
by hand, so a claim can always be traced to the run that made it and rerun.

    python bench/report.py                  # every group of the latest saved run, as Markdown tables
    python bench/report.py --readme         # rewrite README's "Performance in brief" block from it
    python bench/report.py --check-readme   # exit 1 if README's block is not what the saved runs give

A number is a benchmark's median over its rounds; `spread` is the interquartile range over the median, over the
same rounds: how far a rerun on the same machine may land (a benchmark of one round has none: "–"). The range
(max - min) is not used: on a shared machine one preempted round of thousands would dominate it. A ratio is
taken between two benchmarks of one group, measured side by side in the same run. The docs site (docs/hooks.py)
renders its tables with `group_table`.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HISTORY = ROOT / "bench" / "history"
GPU_RESULTS = ROOT / "bench" / "results" / "gpu_check_h100.json"
README = ROOT / "README.md"
BEGIN, END = "<!-- bench: begin (bench/report.py --readme writes this block) -->", "<!-- bench: end -->"

# extra_info fields worth a column, in this order, with their headers and formats.
COLUMNS = (
    ("configurations", "configurations", lambda v: f"{v:,}" if v < 10**12 else f"{v:.2e}"),
    ("rows_kept", "rows kept", lambda v: f"{v:,}"),
    ("rows", "rows", lambda v: f"{v:,}"),
    ("frontier_points", "frontier points", lambda v: f"{v:,}"),
    ("scenarios", "scenarios", lambda v: f"{v:,}"),
    ("configs_per_s", "configurations/s", lambda v: f"{v:.3g}"),
    ("rows_per_s", "rows/s", lambda v: f"{v:.3g}"),
    ("scenarios_per_s", "scenarios/s", lambda v: f"{v:,.0f}"),
    ("file_bytes", "file bytes", lambda v: f"{v:,}"),
)


def runs() -> list[tuple[str, dict]]:
    """(run id, saved run) for every run in bench/history/, oldest first."""
    out = []
    for path in sorted(HISTORY.glob("*/*.json"), key=lambda p: p.name):
        out.append((path.name.split("_")[0], json.loads(path.read_text())))
    return out


def latest(pattern: str = "") -> tuple[str, dict] | None:
    """The newest saved run holding a benchmark group matching `pattern` (a regular expression), or None."""
    rx = re.compile(pattern)
    for run_id, data in reversed(runs()):
        if any(rx.search(b.get("group") or "") for b in data["benchmarks"]):
            return run_id, data
    return None


def seconds(s: float) -> str:
    """A time with its unit: 3 significant digits."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if s >= scale or unit == "ns":
            return f"{s / scale:.3g} {unit}"
    raise AssertionError


def spread(stats: dict) -> float:
    return stats["iqr"] / stats["median"] if stats["median"] > 0 else 0.0


def describe(run_id: str, data: dict) -> str:
    """Which run: its id, date, commit, machine and load averages (1 minute, at each benchmark's start)."""
    cpu = data["machine_info"].get("cpu", {})
    loads = [b["extra_info"]["load_average"][0] for b in data["benchmarks"]
             if "load_average" in (b.get("extra_info") or {})]
    load = f", load average {min(loads):.1f}–{max(loads):.1f}" if loads else ""
    commit = (data.get("commit_info") or {}).get("id", "?")[:7]
    return (f"saved run {run_id} of `bench/run.sh` ({data['datetime'][:10]}, commit {commit}, "
            f"{cpu.get('brand_raw', '?')}, {cpu.get('count', '?')} cores{load})")


def _short(name: str) -> str:
    return name.removeprefix("test_")


def group_table(pattern: str, run: tuple[str, dict] | None = None) -> str:
    """Markdown: the groups of the run matching `pattern`, one table each: every benchmark's median, spread and
    time over the group's fastest, and the extra_info columns the group has."""
    run = run or latest(pattern)
    if run is None:
        return f"No saved run has a benchmark group matching `{pattern}`: run `bash bench/run.sh`.\n"
    run_id, data = run
    rx = re.compile(pattern)
    groups: dict[str, list] = {}
    for b in data["benchmarks"]:
        if rx.search(b.get("group") or ""):
            groups.setdefault(b["group"], []).append(b)
    out = [f"From {describe(run_id, data)}.", ""]
    for group, bench in groups.items():
        fastest = min(b["stats"]["median"] for b in bench)
        cols = [c for c in COLUMNS if any(c[0] in (b.get("extra_info") or {}) for b in bench)]
        out += [f"**{group}**", "",
                "| " + " | ".join(["benchmark", "median", "spread", "÷ fastest", "rounds"]
                                  + [h for _, h, _ in cols]) + " |",
                "| --- |" + " ---: |" * (4 + len(cols))]
        for b in sorted(bench, key=lambda b: b["stats"]["median"]):
            s, info = b["stats"], b.get("extra_info") or {}
            cells = [f(info[k]) if k in info else "–" for k, _, f in cols]
            row = [f"`{_short(b['name'])}`", seconds(s["median"]), f"{spread(s):.0%}" if s["rounds"] > 1 else "–",
                   f"{s['median'] / fastest:.2f}×", str(s["rounds"]), *cells]
            out.append("| " + " | ".join(row) + " |")
        out.append("")
    return "\n".join(out)


def find(data: dict, group: str, name: str) -> dict:
    """The benchmark of `data` in group `group` (regex) whose name matches `name` (regex)."""
    g, n = re.compile(group), re.compile(name)
    found = [b for b in data["benchmarks"] if g.search(b.get("group") or "") and n.search(b["name"])]
    if len(found) != 1:
        raise KeyError(f"bench/report.py: {len(found)} benchmarks match group {group!r} and name {name!r}")
    return found[0]


# README's claims: (sentence, group, the fast benchmark, the reference). {fast} is its median, {ratio} the
# reference's median over the fast one's, {spread} the larger of the two spreads.
HEADLINES = (
    (("the exact search finds the whole frontier of a 30-block, 5-tier, 20-threshold model (412 million "
      "configurations) in {fast}, {ratio} faster than the compiled sweep (bounds pruning it) followed by the "
      "frontier"), r"^N30-M5-K20$", r"test_pareto\[", r"test_sweep_and_frontier\["),
    (("it plans PORTEND's ResNet-110 on three tiers in {fast} ({ratio} faster than the compiled sweep; PORTEND's "
      "authors report 30 minutes)"), r"^portend-resnet110$", r"search", r"sweep"),
)


def _gpu_sentence() -> str:
    if not GPU_RESULTS.exists():
        return ""
    data = json.loads(GPU_RESULTS.read_text())
    rates = [by["cuda"]["configs_per_s"] for case, by in data["sweep"].items()
             if "cuda" in by and by["cuda"]["configurations"] > 10**8
             and by["cuda"]["rows"] < by["cuda"]["configurations"] / 100]
    if not rates:
        return ""
    return (f" On one {data['device']} ({data['cores']} CPU cores; `bench/gpu_check.sh`, "
            f"`bench/results/`) the bounded CUDA sweep evaluates {min(rates) / 1e9:.0f}–{max(rates) / 1e9:.0f} "
            "billion configurations per second.")


def render_readme() -> str:
    """README's "Performance in brief" paragraph, from the newest run holding each headline's group."""
    sentences, used = [], {}
    for text, group, fast, reference in HEADLINES:
        run = latest(group)
        if run is None:
            continue
        f, r = find(run[1], group, fast), find(run[1], group, reference)
        fs, rs = f["stats"], r["stats"]
        sentences.append(text.format(fast=seconds(fs["median"]), ratio=f"{rs['median'] / fs['median']:.0f}×",
                                     spread=f"{max(spread(fs), spread(rs)):.0%}"))
        used[run[0]] = run[1]
    body = "On a shared 2-core x86-64 machine " + "; ".join(sentences) + "." if sentences else \
        "No saved benchmark run yet: `bash bench/run.sh`."
    body += _gpu_sentence()
    sources = "; ".join(describe(i, d) for i, d in used.items())
    if sources:
        body += (f" Medians from {sources}; `bash bench/run.sh` reruns them, and "
                 "[Performance](docs/performance.md) has every table with its spread.")
    return "\n".join([BEGIN, _wrap(body), END])


def _wrap(text: str, width: int = 110) -> str:
    lines, line = [], ""
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return "\n".join(lines + [line])


def readme_block(text: str) -> str:
    m = re.search(re.escape(BEGIN) + r".*?" + re.escape(END), text, re.DOTALL)
    if not m:
        raise KeyError(f"README.md has no block between {BEGIN!r} and {END!r}")
    return m.group(0)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readme", action="store_true", help="rewrite README's block from the saved runs")
    parser.add_argument("--check-readme", action="store_true", help="exit 1 if README's block is stale")
    parser.add_argument("--group", default="", help="only the groups matching this regular expression")
    a = parser.parse_args(argv)
    if a.readme or a.check_readme:
        text = README.read_text()
        old, new = readme_block(text), render_readme()
        if a.check_readme:
            if old != new:
                print("README's benchmark block differs from the saved runs: python bench/report.py --readme")
                return 1
            return 0
        README.write_text(text.replace(old, new))
        return 0
    print(group_table(a.group))
    return 0


if __name__ == "__main__":
    sys.exit(main())
