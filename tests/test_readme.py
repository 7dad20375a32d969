"""README.md is a front page that tells the truth: short, the main command's real output on its first
screen, every command in it run (here, or by CI: the installs and tools/quick_tour.sh), links that
resolve, and nothing that points at a development machine or tells the project's development history."""
import re
import shlex
import subprocess
import sys

import pytest

from _docblocks import DOCS, README, ROOT, blocks, command_env, run_page, workspace

pytestmark = pytest.mark.skipif(not README.exists(), reason="README.md not beside the tests")

MAIN_COMMAND = "eepart plan --min-accuracy 0.9"
MAX_LINES = 250
MAIN_OUTPUT_BY_LINE = 40


def _readme() -> str:
    return README.read_text()


def test_readme_is_short():
    n = len(_readme().splitlines())
    assert n <= MAX_LINES, f"README.md has {n} lines; a front page has at most {MAX_LINES} (the rest goes to docs/)"


def _main_output_block():
    for block in blocks(README):
        lines = block.code.splitlines()
        if block.language == "console" and lines and lines[0] == f"$ {MAIN_COMMAND}":
            return block, lines[1:]
    pytest.fail(f"README.md has no ```console block starting with `$ {MAIN_COMMAND}`")


def _shape(line: str) -> str:
    """A line's format: its words, with every number replaced, and runs of spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?%?", "#", line)).strip()


def test_main_command_output_is_on_the_first_screen_and_real():
    block, shown = _main_output_block()
    end = block.line + len(block.code.splitlines())  # the closing fence's line
    assert end <= MAIN_OUTPUT_BY_LINE, f"the main command's output ends on line {end}, after line {MAIN_OUTPUT_BY_LINE}"
    done = subprocess.run([sys.executable, "-m", "eepart_fast.cli", *shlex.split(MAIN_COMMAND)[1:]],
                          capture_output=True, text=True, timeout=120, env=command_env())
    assert done.returncode == 0, done.stderr
    actual = done.stdout.rstrip("\n").splitlines()
    # Same command, same model: the same lines in the same format (numbers may move in their last digits
    # as the printing changes; a changed layout means README's block must be pasted again).
    assert len(shown) == len(actual), (f"README shows {len(shown)} lines of `{MAIN_COMMAND}`, it prints "
                                       f"{len(actual)} now:\n" + done.stdout)
    assert shown[0] == actual[0], (shown[0], actual[0])
    for want, got in zip(shown, actual):
        assert _shape(want) == _shape(got), f"README shows\n  {want}\nthe command prints\n  {got}"


def test_readme_code_blocks_run(tmp_path):
    # python blocks exec'd, bash blocks (`eepart plan ...`) run; installs and the tour are marked and run by CI.
    ran = run_page(README, workspace(tmp_path), pytest.skip)
    assert ran >= 1


def test_readme_python_example_prints_plans(capsys, tmp_path, monkeypatch):
    python = [b for b in blocks(README) if b.language == "python" and not b.marker]
    assert python, "README.md has no Python example"
    monkeypatch.chdir(workspace(tmp_path))
    exec(compile(python[0].code, python[0].where, "exec"), {})
    out = capsys.readouterr().out
    assert "accuracy" in out and "ms" in out  # the printed Plans


def test_every_readme_block_runs_somewhere():
    # A block that claims to run but is neither run here nor marked for CI would be a command nobody checks.
    for block in blocks(README):
        if block.language in ("python", "bash"):
            assert block.marker in ("", "not run", "requires", "quick tour"), block.where
        if block.marker == "not run":
            assert block.argument, f"{block.where}: say why the block is not run"


def test_readme_main_commands_are_there():
    text = _readme()
    for command in ("pip install .\n", f"{MAIN_COMMAND}\n", "pip install '.[test]'\n", "pytest\n"):
        assert command in text, command


def test_quick_tour_script_runs_exactly_readmes_block():
    tour = [b for b in blocks(README) if b.marker == "quick tour"]
    assert len(tour) == 1 and tour[0].language == "bash", "README.md needs one bash block marked <!-- quick tour: -->"
    done = subprocess.run(["bash", str(ROOT / "tools" / "quick_tour.sh"), "--print"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines() == [line for line in tour[0].code.strip().splitlines() if line.strip()]


def test_quick_tour_commands_parse():
    # Every flag of the tour exists (the tour itself needs torch and minutes: CI runs it).
    from eepart_fast.cli import build_parser

    tour = next(b for b in blocks(README) if b.marker == "quick tour")
    parser = build_parser()
    for line in tour.code.strip().splitlines():
        words = shlex.split(line.split(">")[0])
        assert words[0] == "eepart", line
        parser.parse_args(words[1:])


def test_readme_links_resolve():
    text = _readme()
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+://", target):
            continue
        path = target.split("#")[0]
        assert not path.startswith(("/", "..")), f"README.md links outside the repository: {target}"
        assert (ROOT / path).exists(), f"README.md links to {target}, which does not exist"


HISTORY = re.compile(r"development machine|this session|the session|was lent|no device was lent|no GPU (?:was|this)"
                     r"|helper|has not run on a GPU yet|at the time of writing|Intel Xeon", re.I)


@pytest.mark.parametrize("path", [README, *sorted(DOCS.glob("*.md"))], ids=lambda p: p.name)
def test_no_development_history(path):
    # What a user reads describes the tool and its measurements, not who had which machine when.
    bad = [f"{path.name}:{n}: {line.strip()[:120]}" for n, line in enumerate(path.read_text().splitlines(), 1)
           if HISTORY.search(line)]
    assert not bad, "\n".join(bad)


def test_nothing_a_user_reads_points_at_this_machine():
    # README, docs, the site's configuration and the committed experiments (scripts, tables, reports,
    # provenance JSON) name paths inside the repository or neutral ones (runs/<name>), never the development
    # machine's folders.
    try:
        listed = subprocess.run(["git", "ls-files", "README.md", "docs", "mkdocs.yml", "experiments", "examples",
                                 "tools/quick_tour.sh"], check=False, cwd=ROOT, capture_output=True, text=True,
                                timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        pytest.skip("git not available")
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    files = set(listed.stdout.split())
    # the pages being written count too, committed or not
    files |= {str(p.relative_to(ROOT)) for p in [README, ROOT / "mkdocs.yml", *DOCS.glob("*.md"), *DOCS.glob("*.py")]
              if p.exists()}
    bad = []
    for f in sorted(files):
        if f.endswith((".png", ".pt", ".npz")) or not (ROOT / f).is_file():
            continue
        for n, line in enumerate((ROOT / f).read_text(errors="replace").splitlines(), 1):
            if "/work/" in line or "../shared" in line or "/shared/paper" in line or "/shared/peer-data" in line:
                bad.append(f"{f}:{n}: {line.strip()[:120]}")
    assert not bad, "\n".join(bad)
