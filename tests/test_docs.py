"""The documentation site (docs/, mkdocs.yml): its code blocks run, its CLI reference is the parser's (every
subcommand and flag of `eepart --help`), its generated tables come from the committed results, its links
resolve, and `mkdocs build --strict` passes (with the `docs` extra)."""
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from _docblocks import DOCS, ROOT, blocks, command_env, doc_pages, run_page, workspace

pytestmark = pytest.mark.skipif(not (ROOT / "mkdocs.yml").exists(), reason="mkdocs.yml not beside the tests")

DOCS_EXTRA = "the `docs` extra (pip install 'eepart_fast[docs]')"


def _hooks():
    spec = importlib.util.spec_from_file_location("eepart_docs_hooks", DOCS / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _nav_pages() -> list[str]:
    return re.findall(r":\s*([\w-]+\.md)\s*$", (ROOT / "mkdocs.yml").read_text(), re.M)


# ------------------------------------------------------------------------------------------- pages


@pytest.mark.parametrize("page", doc_pages(), ids=lambda p: p.name)
def test_docs_code_blocks_run(page, tmp_path):
    run_page(page, workspace(tmp_path), pytest.skip)


def test_every_page_is_in_the_nav_and_the_model_is_kept():
    nav = _nav_pages()
    pages = {p.name for p in doc_pages()}
    assert set(nav) == pages, f"in nav only: {set(nav) - pages}; pages not in nav: {pages - set(nav)}"
    assert "model.md" in nav
    for required in ("getting-started.md", "tail-latency.md", "plans-over-a-range.md", "file-formats.md",
                     "studies.md", "backends.md", "training.md", "running.md", "performance.md", "paper.md",
                     "development.md", "cli.md", "api.md"):
        assert required in pages, required


def test_blocks_not_run_say_why():
    for page in doc_pages():
        for block in blocks(page):
            if block.marker == "not run":
                assert block.argument, f"{block.where}: say why the block is not run"
            if block.language in ("python", "bash"):
                assert block.marker in ("", "not run", "requires"), f"{block.where}: unknown marker {block.marker!r}"


def test_docs_links_resolve():
    # mkdocs --strict checks these too; this runs without the docs extra.
    pages = {p.name for p in doc_pages()}
    hooks = _hooks()
    for page in doc_pages():
        text = page.read_text()
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+://", target) or target.startswith("#"):
                continue
            path = target.split("#")[0]
            assert path in pages or path in hooks.FIGURES, f"{page.name} links to {target}: not a page of the site"
        for source in re.findall(r"<!-- (?:table|file): ([\w./-]+)", text):
            assert (ROOT / source).is_file(), f"{page.name} reads {source}, which does not exist"


# ------------------------------------------------------------------------------------- CLI reference


def _flags(help_text: str) -> set:
    return set(re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", help_text))


def _sections(rendered: str) -> dict:
    parts = re.split(r"^## eepart (\S+)\s*$", rendered, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def test_cli_reference_is_the_parser():
    from eepart_fast.cli import build_parser

    hooks = _hooks()
    parser = build_parser()
    rendered = hooks.render_cli(parser)
    sections = _sections(rendered)
    subs = hooks.subcommands(parser)
    assert list(sections) == list(subs)
    import argparse

    for name, sub in subs.items():
        for action in sub._actions:
            if action.help == argparse.SUPPRESS:  # hidden from --help (internal plumbing), so from the page too
                continue
            for option in action.option_strings:
                assert f"`{option}" in sections[name] or f", {option}" in sections[name], \
                    f"the CLI reference lacks eepart {name} {option}"
            if not action.option_strings:
                assert (action.metavar or action.dest) in sections[name], f"eepart {name}: {action.dest}"


def test_cli_reference_lists_every_subcommand_and_flag_of_eepart_help():
    # Against what the command prints, not only the parser object.
    hooks = _hooks()
    rendered = hooks.render_cli()
    sections = _sections(rendered)
    env = command_env()
    top = subprocess.run([sys.executable, "-m", "eepart_fast.cli", "--help"], capture_output=True, text=True,
                         timeout=120, env=env)
    assert top.returncode == 0, top.stderr
    listed = re.findall(r"^    (\w+)\s", top.stdout, re.M)
    assert listed, top.stdout
    assert set(listed) == set(sections), (listed, list(sections))
    for name in listed:
        done = subprocess.run([sys.executable, "-m", "eepart_fast.cli", name, "--help"], capture_output=True,
                              text=True, timeout=120, env=env)
        assert done.returncode == 0, f"eepart {name} --help: {done.stderr}"
        usage_and_options = done.stdout
        missing = {f for f in _flags(usage_and_options) if f not in sections[name]}
        # flags quoted inside help sentences are there too, as text; what must not be missing is an option
        assert not missing, f"eepart {name}: the CLI reference lacks {sorted(missing)}"


# --------------------------------------------------------------------------------- generated tables


def test_gpu_tables_are_read_from_the_results():
    hooks = _hooks()
    data = json.loads((ROOT / "bench" / "results" / "gpu_check_h100.json").read_text())
    rendered = hooks.render_gpu()
    for case in list(data["sweep"]) + list(data["pareto"]):
        assert f"| {case} |" in rendered, case
    assert data["device"] in rendered and f"{data['cores']} CPU cores" in rendered


def test_history_tables_are_read_from_the_saved_runs():
    hooks = _hooks()
    runs = sorted((ROOT / "bench" / "history").glob("*/*.json"))
    rendered = hooks.render_history()
    for path in runs:
        assert f"| {path.name.split('_')[0]} |" in rendered, path.name
    if runs:
        brand = json.loads(runs[-1].read_text())["machine_info"]["cpu"]["brand_raw"]
        assert brand in rendered and brand in hooks._report().group_table(".")


def test_experiment_tables_are_included_not_retyped():
    hooks = _hooks()
    for page in doc_pages():
        for path, index in re.findall(r"<!-- table: ([\w./-]+)(?: (\d+))? -->", page.read_text()):
            table = hooks.render_table(path, int(index or 0))
            assert table.startswith("|") and table in (ROOT / path).read_text()


# ------------------------------------------------------------------------------------------ the site


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    pytest.importorskip("mkdocs", reason=f"mkdocs is not installed: {DOCS_EXTRA}")
    pytest.importorskip("material", reason=f"mkdocs-material is not installed: {DOCS_EXTRA}")
    pytest.importorskip("mkdocstrings_handlers.python", reason=f"mkdocstrings[python] is not installed: {DOCS_EXTRA}")
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600,
                          env={**command_env(), "NO_MKDOCS_2_WARNING": "1"})
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stderr[-4000:]}"
    return out


def _text(html_file: Path) -> str:
    html = html_file.read_text()
    html = re.sub(r"<(script|style)\b.*?</\1>", "", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_mkdocs_build_strict(site):
    for page in _nav_pages():
        built = site / ("index.html" if page == "index.md" else page[:-3] + "/index.html")
        assert built.is_file(), built


def test_site_renders_the_generated_parts(site):
    from eepart_fast.cli import build_parser

    cli = _text(site / "cli" / "index.html")
    for name in _hooks().subcommands(build_parser()):
        assert f"eepart {name}" in cli
    assert "--min-accuracy" in cli and "--quick" not in cli
    api = _text(site / "api" / "index.html")
    for name in ("Planner", "min_latency", "Profile", "Topology", "pareto"):
        assert name in api, name
    performance = _text(site / "performance" / "index.html")
    assert "NVIDIA H100" in performance and "test_study_local_cluster" in performance
    index = _text(site / "index.html")
    assert "best plan under accuracy" in index  # the main command's output, run at build time
    for figure in _hooks().FIGURES:
        assert (site / figure).is_file(), figure


def test_every_generated_spot_says_so_in_the_raw_page_and_the_site_drops_the_note():
    """A reader of the committed page (GitHub, an editor) sees, under each generated spot, what the site shows
    there; the rendered page carries no such note."""
    hooks = _hooks()
    markers = (hooks.MARKER, hooks.TABLE, hooks.FILE, hooks.OUTPUT, hooks.BENCH)
    for page in doc_pages():
        lines, code = page.read_text().split("\n"), False
        for i, line in enumerate(lines):
            if line.startswith("```"):
                code = not code
            if not code and any(m.fullmatch(line.strip()) for m in markers):
                assert hooks.RAW_NOTE.match(lines[i + 1] + "\n"), f"{page.name}:{i + 1}: {line} has no raw note"
    page = next(p for p in doc_pages() if p.name == "energy.md")
    text = hooks.RAW_NOTE.sub("", page.read_text())
    assert "Shown when the docs are built" not in text and "<!-- table: experiments" in text
