"""The code blocks of README.md and docs/*.md, and how the tests run them.

Convention (docs/development.md "Tests"): a ```python block is executed (the blocks of one page in
order, sharing one namespace), a ```bash block runs with bash in a temporary folder that holds a copy
of examples/, a ```console block is output and never runs. An HTML comment on the line just before a
block's fence changes that:

- ``<!-- not run: reason -->``: the block is not run (installs, clusters, long trainings);
- ``<!-- requires: study -->`` (or runtime, train): skipped, naming the extra, where it is not installed;
- ``<!-- quick tour: ... -->``: README's quick tour, run by tools/quick_tour.sh (CI), not here.
"""
from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
RUN_LANGUAGES = {"python", "bash"}
EXTRA_MODULES = {
    "study": ("pyarrow", "dask", "distributed", "pandas"),
    "runtime": ("zmq", "onnx", "onnxruntime", "onnxscript"),
    "train": ("torch", "torchvision"),
}
FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)
MARKER = re.compile(r"<!--\s*([a-z ]+):\s*(.*?)\s*-->")


@dataclass
class Block:
    path: Path
    line: int          # 1-based line of the opening fence
    language: str
    code: str
    marker: str = ""   # "not run", "requires", "quick tour" or ""
    argument: str = ""

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def blocks(path: Path) -> list[Block]:
    text = path.read_text()
    out = []
    for m in FENCE.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        before = text[:m.start()].rstrip("\n").rsplit("\n", 1)[-1].strip()
        marker = MARKER.fullmatch(before)
        out.append(Block(path, line, m.group(1), m.group(2),
                         marker.group(1).strip() if marker else "", marker.group(2) if marker else ""))
    return out


def missing_extras(block: Block) -> list[str]:
    if block.marker != "requires":
        return []
    missing = []
    for extra in (e.strip() for e in block.argument.split(",")):
        if any(importlib.util.find_spec(m) is None for m in EXTRA_MODULES[extra]):
            missing.append(extra)
    return missing


def workspace(tmp: Path) -> Path:
    """A folder as the commands of the docs expect it: a copy of the repository's examples/."""
    if (ROOT / "examples").is_dir():
        shutil.copytree(ROOT / "examples", tmp / "examples")
    return tmp


def command_env() -> dict:
    env = dict(os.environ)
    # `eepart` of the environment running the tests first on the PATH; no progress bars in logs.
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.setdefault("MPLBACKEND", "Agg")
    return env


def run_page(path: Path, tmp: Path, skip) -> int:
    """Runs every runnable block of one page, in order, in `tmp`; returns how many ran. `skip(reason)`
    is called (and the page stops there) when a block needs an extra that is not installed."""
    ran = 0
    namespace: dict = {"__name__": "__main__"}  # as a reader runs them: a block's main guard runs
    cwd = os.getcwd()
    os.chdir(tmp)
    try:
        for block in blocks(path):
            if block.language not in RUN_LANGUAGES or block.marker in ("not run", "quick tour"):
                continue
            absent = missing_extras(block)
            if absent:
                skip(f"{block.where} needs the {', '.join(absent)} extra: pip install "
                     f"'eepart_fast[{','.join(absent)}]'")
                return ran
            if block.language == "python":
                try:
                    exec(compile(block.code, block.where, "exec"), namespace)
                except Exception as exc:
                    raise AssertionError(f"{block.where}: the python block raised {exc!r}") from exc
            else:
                done = subprocess.run(["bash", "-euo", "pipefail", "-c", block.code], cwd=tmp, env=command_env(),
                                      capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
                assert done.returncode == 0, (f"{block.where}: the bash block exited {done.returncode}\n"
                                              f"{block.code}\nstdout: {done.stdout[-2000:]}\n"
                                              f"stderr: {done.stderr[-2000:]}")
            ran += 1
    finally:
        os.chdir(cwd)
    return ran


def doc_pages() -> list[Path]:
    return sorted(DOCS.glob("*.md"))
