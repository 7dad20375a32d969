"""The tree is ruff-clean under pyproject.toml's [tool.ruff], so CI holds every change to it."""
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("ruff", reason="needs ruff, from the test extra: pip install 'eepart_fast[test]'")

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
pytestmark = pytest.mark.skipif(not PYPROJECT.exists() or "[tool.ruff]" not in PYPROJECT.read_text(),
                                reason="pyproject.toml with [tool.ruff] not beside the tests")


def ruff(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "ruff", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, check=False)


def test_the_repository_is_ruff_clean():
    done = ruff("check", "--no-cache", "--output-format", "concise", ".")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_configuration_is_the_one_ruff_reads(tmp_path):
    # The check above passes trivially if ruff found no configuration or read nothing: a file of the tree's
    # own rules, 120 columns and sorted imports, must be judged by them.
    fits, over = "x = " + "1" * 116 + "\n", "x = " + "1" * 117 + "\n"
    assert len(fits) - 1 == 120 and len(over) - 1 == 121
    for name, text in (("fits.py", fits), ("over.py", over), ("order.py", "import sys\nimport os\n")):
        (tmp_path / name).write_text(text)
    config = ("--config", str(PYPROJECT), "--no-cache", "--output-format", "concise")
    assert ruff("check", *config, "fits.py", cwd=tmp_path).returncode == 0
    done = ruff("check", *config, "over.py", "order.py", cwd=tmp_path)
    assert done.returncode == 1
    assert "over.py:1:121: E501" in done.stdout and "order.py:1:1: I001" in done.stdout, done.stdout
