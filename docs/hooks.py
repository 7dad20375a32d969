"""mkdocs hooks: the parts of the site that are generated at build time, never written by hand.

- ``<!-- generated: cli-reference -->``: every ``eepart`` subcommand's usage, description and flags, walked
  from ``eepart_fast.cli.build_parser()`` (so the page cannot drift from ``eepart --help``);
- ``<!-- generated: quick-tour -->``: README's quick tour block;
- ``<!-- generated: gpu-benchmarks -->``: the GPU run's tables, read from ``bench/results/gpu_check_h100.*``;
- ``<!-- generated: bench-history -->``: the saved pytest-benchmark runs in ``bench/history/``;
- ``<!-- bench: REGEX -->``: the tables of the benchmark groups matching REGEX in the newest saved run that
  has them (``bench/report.py``, which also writes README's benchmark block);
- ``<!-- table: experiments/results/X.md [i] -->``: the i-th table of a committed results file;
- ``<!-- file: examples/study.yaml -->``: a committed file, whole, as a code block;
- ``<!-- output: eepart ... -->``: that command's output, run at build time from the repository root;
- each marker is followed, in the page as committed, by one line for a reader of the raw file ("*(Shown when
  the docs are built as a site, ...)*", naming what goes there); the site drops it;
- the figures of ``experiments/results/`` are added to the site under ``figures/`` (the pages link
  ``figures/<name>.png``), so the committed PNGs are the only copy.

Registered under ``hooks:`` in mkdocs.yml; ``tests/test_docs.py`` imports it to compare the rendered CLI
reference with the parser.
"""
from __future__ import annotations

import argparse
import json
import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GPU_RESULTS = ROOT / "bench" / "results"
HISTORY = ROOT / "bench" / "history"
FIGURES = {  # site path -> file in the repository
    "figures/tail_latency.png": "experiments/results/tail_latency.png",
    "figures/figure_3.png": "experiments/results/figure_3.png",
    "figures/runtime_vs_model.png": "experiments/results/runtime/runtime_vs_model.png",
    "figures/case_1_trimming.png": "experiments/results/case_1_trimming.png",
    "figures/case_2_partitions.png": "experiments/results/case_2_partitions.png",
    "figures/case_3_placement.png": "experiments/results/case_3_placement.png",
    "figures/case_4_destination.png": "experiments/results/case_4_destination.png",
    "figures/energy_frontier.png": "experiments/results/energy/energy_frontier.png",
}
MARKER = re.compile(r"<!-- generated: ([a-z-]+) -->")
TABLE = re.compile(r"<!-- table: ([\w./-]+)(?: (\d+))? -->")
FILE = re.compile(r"<!-- file: ([\w./-]+) -->")
OUTPUT = re.compile(r"<!-- output: (eepart [^\n]*?) -->")
BENCH = re.compile(r"<!-- bench: (?!begin|end)([^\n]+?) -->")
# The line after each marker for a reader of the raw page (GitHub, an editor): what the site shows there.
# The site drops it.
RAW_NOTE = re.compile(r"^\*\(Shown when the docs are built as a site, [^\n]*\)\*[ \t]*\n?", re.M)


# ---------------------------------------------------------------------------------------------- CLI


def _md(text: str) -> str:
    """Help text as Markdown prose: angle brackets and stars shown, not interpreted."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("*", r"\*")


def _help(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    if not action.help or action.help == argparse.SUPPRESS:
        return ""
    return parser._get_formatter()._expand_help(action)


def _flag(action: argparse.Action) -> str:
    """`--out FILE` / `--plot OUT.png` / `-h, --help` / `STUDY.yaml`, as one code span."""
    if not action.option_strings:
        return action.metavar or action.dest
    names = ", ".join(action.option_strings)
    if action.nargs == 0:
        return names
    metavar = action.metavar
    if metavar is None:
        metavar = "{" + ",".join(map(str, action.choices)) + "}" if action.choices else action.dest.upper()
    if isinstance(metavar, tuple):
        metavar = " ".join(metavar)
    if action.nargs == "?":
        metavar = f"[{metavar}]"
    elif action.nargs in ("*", "+"):
        metavar = f"{metavar} ..."
    return f"{names} {metavar}"


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Name -> parser of every subcommand, in the order `eepart --help` lists them."""
    return dict(parser._subparsers._group_actions[0].choices)


def _usage(parser: argparse.ArgumentParser) -> str:
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"
    try:
        return parser.format_usage().strip()
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old


def _actions_markdown(parser: argparse.ArgumentParser) -> list[str]:
    out = []
    for group in parser._action_groups:
        actions = [a for a in group._group_actions
                   if a.help != argparse.SUPPRESS and not isinstance(a, argparse._SubParsersAction)]
        if not actions:
            continue
        out += [f"**{_md(group.title or 'options')}**", ""]
        for action in actions:
            line = f"- `{_flag(action)}`"
            text = _help(parser, action)
            if text:
                line += f": {_md(text)}"
            if action.required and action.option_strings:
                line += " *(required)*"
            out.append(line)
        out.append("")
    return out


def render_cli(parser: argparse.ArgumentParser | None = None) -> str:
    """The CLI reference: the top-level usage, then every subcommand's usage, description and flags."""
    if parser is None:
        from eepart_fast.cli import build_parser

        parser = build_parser()
    helps = {a.dest: a.help for a in parser._subparsers._group_actions[0]._choices_actions}
    lines = ["```text", _usage(parser), "```", ""]
    if parser.description:
        lines += [_md(parser.description), ""]
    lines += ["| command | what it does |", "| --- | --- |"]
    for name in subcommands(parser):
        lines.append(f"| [`eepart {name}`](#eepart-{name}) | {_md(helps.get(name) or '')} |")
    lines.append("")
    lines += _actions_markdown(parser)
    if parser.epilog:
        lines += ["```text", parser.epilog.strip(), "```", ""]
    for name, sub in subcommands(parser).items():
        lines += [f"## eepart {name}", "", "```text", _usage(sub), "```", ""]
        if sub.description:
            lines += [_md(sub.description), ""]
        lines += _actions_markdown(sub)
        if sub.epilog:
            lines += ["```text", sub.epilog.strip(), "```", ""]
    return "\n".join(lines)


# -------------------------------------------------------------------------------------- benchmarks


def _rate(x: float) -> str:
    return f"{x:.3g}"


def _ratio(x: float) -> str:
    return f"{x:.1f}×"


def _gpu_machine() -> str:
    """One line describing the GPU run's machine, from the run's own log."""
    log = (GPU_RESULTS / "gpu_check_h100.log").read_text(errors="replace")
    data = json.loads((GPU_RESULTS / "gpu_check_h100.json").read_text())
    cuda = re.search(r"Cuda compilation tools, release ([0-9.]+)", log)
    parts = [f"one {data['device']}", f"{data['cores']} CPU cores"]
    if cuda:
        parts.append(f"CUDA {cuda.group(1)}")
    return ", ".join(parts)


def render_gpu() -> str:
    data = json.loads((GPU_RESULTS / "gpu_check_h100.json").read_text())
    lines = [f"Machine: {_gpu_machine()} (`bench/results/gpu_check_h100.log`). The cpu columns are the C++ "
             f"engine on that machine's {data['cores']} cores.", "",
             "| sweep | configurations | rows kept | cpu (configs/s) | cupy (configs/s) | cuda (configs/s) "
             "| cuda / cpu |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for case, by in data["sweep"].items():
        cpu, cuda = by.get("cpu"), by.get("cuda")
        cupy = by.get("cupy")
        lines.append(
            f"| {case} | {cpu['configurations']:,} | {cpu['rows']:,} | {_rate(cpu['configs_per_s'])} | "
            f"{_rate(cupy['configs_per_s']) if cupy else '–'} | {_rate(cuda['configs_per_s']) if cuda else '–'} | "
            f"{_ratio(cuda['configs_per_s'] / cpu['configs_per_s']) if cuda else '–'} |")
    lines += ["", "| pareto | configurations | frontier points | cpu (ms) | cuda, layered search (ms) | cpu / cuda |",
              "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for case, by in data["pareto"].items():
        cpu, cuda = by["cpu"], by.get("cuda")
        conf = cpu["configurations"]
        conf_s = f"{conf:,}" if conf < 10**12 else f"{conf:.2e}".replace("e+", " × 10^")
        lines.append(f"| {case} | {conf_s} | {cpu['points']} | {cpu['seconds'] * 1e3:.3g} | "
                     f"{cuda['seconds'] * 1e3:.3g} | {_ratio(cpu['seconds'] / cuda['seconds'])} |"
                     if cuda else f"| {case} | {conf_s} | {cpu['points']} | {cpu['seconds'] * 1e3:.3g} | – | – |")
    return "\n".join(lines) + "\n"


def _history_runs() -> list[tuple[str, dict]]:
    runs = []
    for path in sorted(HISTORY.glob("*/*.json")):
        runs.append((path.name.split("_")[0], json.loads(path.read_text())))
    return runs


def render_history() -> str:
    runs = _history_runs()
    if not runs:
        return "No saved runs in `bench/history/`.\n"
    machines = sorted({(d["machine_info"].get("cpu", {}).get("brand_raw", "?"),
                        d["machine_info"].get("cpu", {}).get("count", "?"),
                        d["machine_info"].get("python_version", "?")) for _, d in runs})
    desc = "; ".join(f"{brand}, {count} cores, Python {py}" for brand, count, py in machines)
    lines = [f"Saved runs: {len(runs)}, all on one machine ({desc}; pytest-benchmark's `machine_info`).", "",
             "| run | date | benchmark | seconds (median) | rate | load average (1 min) |",
             "| --- | --- | --- | ---: | --- | ---: |"]
    for run, d in runs:
        date = d["datetime"][:16].replace("T", " ")
        for b in d["benchmarks"]:
            info = b.get("extra_info") or {}
            if "scenarios_per_s" in info:
                rate = f"{info['scenarios_per_s']:,.0f} scenarios/s"
                if "scenarios_per_cpu_s" in info:
                    rate += f", {info['scenarios_per_cpu_s']:,.0f} per CPU second"
            elif "rows_per_s" in info:
                rate = f"{info['rows_per_s'] / 1e6:.2f} M rows/s"
                if "file_bytes_per_s" in info:
                    rate += f", {info['file_bytes_per_s'] / 1e6:.0f} MB/s of file"
            elif "bytes_per_s" in info:
                rate = f"{info['bytes_per_s'] / 1e9:.2f} GB/s"
            else:
                rate = ""
            load = info.get("load_average")
            lines.append(f"| {run} | {date} | `{b['name']}` | {b['stats']['median']:.3g} | {rate} | "
                         f"{load[0]:.1f} |" if load else
                         f"| {run} | {date} | `{b['name']}` | {b['stats']['median']:.3g} | {rate} | – |")
    return "\n".join(lines) + "\n"


def _report():
    """bench/report.py, the one renderer of saved benchmark runs (loaded by path: bench/ is not a package)."""
    import importlib.util
    import sys

    if "eepart_bench_report" not in sys.modules:
        spec = importlib.util.spec_from_file_location("eepart_bench_report", ROOT / "bench" / "report.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules["eepart_bench_report"] = module
    return sys.modules["eepart_bench_report"]


def render_table(path: str, index: int = 0) -> str:
    """The index-th Markdown table of a committed results file (experiments/results/*.md), as it is."""
    tables, current = [], []
    for line in (ROOT / path).read_text().splitlines() + [""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    if index >= len(tables):
        raise IndexError(f"docs: {path} has {len(tables)} tables, not {index + 1}")
    return "\n".join(tables[index])


def render_file(path: str) -> str:
    """A committed file shown whole, as a code block titled with its path."""
    lang = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".csv": "text",
            ".sh": "bash"}.get(Path(path).suffix, "text")
    return f'```{lang} title="{path}"\n' + (ROOT / path).read_text().rstrip() + "\n```"


def render_output(command: str) -> str:
    """`$ eepart ...` and what it prints, run now from the repository root (exit 0, or 3: no plan)."""
    import shlex
    import subprocess
    import sys

    args = shlex.split(command)
    done = subprocess.run([sys.executable, "-m", "eepart_fast.cli", *args[1:]], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "COLUMNS": "120"})
    if done.returncode not in (0, 3):
        raise RuntimeError(f"docs: `{command}` exited {done.returncode}: {done.stderr.strip()[-500:]}")
    return "```console\n$ " + command + "\n" + done.stdout.rstrip() + "\n```"


def render_quick_tour() -> str:
    """README's quick tour block, as README has it (tools/quick_tour.sh runs the same lines)."""
    text = (ROOT / "README.md").read_text()
    m = re.search(r"^<!-- quick tour:.*?-->\n(```bash\n.*?^```)[ \t]*$", text, re.S | re.M)
    if not m:
        raise KeyError("README.md has no block marked <!-- quick tour: ... -->")
    return m.group(1)


RENDERERS = {"quick-tour": render_quick_tour, "cli-reference": render_cli, "gpu-benchmarks": render_gpu,
             "bench-history": render_history}


# ------------------------------------------------------------------------------------------- hooks


def on_files(files, config):
    from mkdocs.structure.files import File

    for dest, src in FIGURES.items():
        path = ROOT / src
        if path.exists():
            files.append(File.generated(config, dest, abs_src_path=str(path)))
    return files


_CODE = re.compile(r"(^```.*?^```[ \t]*$|`[^`\n]+`)", re.S | re.M)


def _literal_brackets(markdown: str) -> str:
    """`x[a][b]` in prose is an index, not a reference link: escape the second bracket outside code."""
    parts = _CODE.split(markdown)
    return "".join(part if i % 2 else part.replace("][", "]\\[") for i, part in enumerate(parts))


def on_page_markdown(markdown, page, config, files):
    markdown = _literal_brackets(RAW_NOTE.sub("", markdown))

    def replace(match):
        name = match.group(1)
        if name not in RENDERERS:
            raise KeyError(f"{page.file.src_uri}: unknown generated block {name!r}")
        return RENDERERS[name]()

    markdown = MARKER.sub(replace, markdown)
    markdown = BENCH.sub(lambda m: _report().group_table(m.group(1)), markdown)
    markdown = FILE.sub(lambda m: render_file(m.group(1)), markdown)
    markdown = TABLE.sub(lambda m: render_table(m.group(1), int(m.group(2) or 0)), markdown)
    return OUTPUT.sub(lambda m: render_output(m.group(1)), markdown)
