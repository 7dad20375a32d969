"""README's Python example runs as written, on the shipped default profile."""
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.mark.skipif(not README.exists(), reason="README.md not beside the tests")
def test_readme_python_example_runs(capsys):
    block = re.search(r"```python\n(.*?)```", README.read_text(), re.S).group(1)
    exec(compile(block, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "accuracy" in out and "ms" in out  # the printed Plans


def test_nothing_a_user_reads_points_at_this_machine():
    # README, docs and the committed experiments (scripts, tables, reports, provenance JSON) name paths
    # inside the repository or neutral ones (runs/<name>), never the development machine's folders.
    import subprocess
    root = Path(__file__).resolve().parents[1]
    try:
        listed = subprocess.run(["git", "ls-files", "README.md", "docs", "experiments"], check=False, cwd=root,
                                capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        pytest.skip("git not available")
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    files = listed.stdout.split()
    bad = []
    for f in files:
        if f.endswith((".png", ".pt", ".npz")):
            continue
        for n, line in enumerate((root / f).read_text(errors="replace").splitlines(), 1):
            if "/work/" in line or "../shared" in line or "/shared/paper" in line or "/shared/peer-data" in line:
                bad.append(f"{f}:{n}: {line.strip()[:120]}")
    assert not bad, "\n".join(bad)
