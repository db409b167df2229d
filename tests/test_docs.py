"""The manual: it builds with no broken link, documents every public function, and each command block in it is run
by a named test or marked as needing a GPU or the network."""

import inspect
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import genlab
from genlab.cli import main

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MARK = re.compile(r"<!-- (?:needs: (?:gpu|network)\b[^>]*|run: (?P<file>[\w/.]+)::(?P<test>\w+)) -->")


def _blocks(text: str) -> list[tuple[str, str]]:
    """(the line before, the block) for every bash block."""
    lines, found = text.splitlines(), []
    for i, line in enumerate(lines):
        if line.strip() == "```bash":
            before = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
            end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == "```")
            found.append((before.strip(), "\n".join(lines[i + 1 : end])))
    return found


def test_every_command_block_is_run_by_a_test_or_says_what_it_needs():
    unmarked, missing = [], []
    for page in PAGES:
        for before, block in _blocks(page.read_text()):
            mark = MARK.fullmatch(before)
            if mark is None:
                unmarked.append(f"{page.name}: {block.splitlines()[0]}")
            elif mark["test"] and f"def {mark['test']}(" not in (ROOT / mark["file"]).read_text():
                missing.append(f"{page.name}: {mark['file']}::{mark['test']}")
    assert unmarked == [] and missing == []


def test_the_readme_tour_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    tour = next(block for before, block in _blocks((ROOT / "README.md").read_text()) if "test_the_readme_tour_runs" in before)
    for line in tour.splitlines():
        argv = line.split("#")[0].split()
        assert argv[0] == "genlab"
        assert main([*argv[1:], *(["--device", "cpu"] if argv[1] == "train" and "--resume" not in argv else [])]) == 0, line
    assert (tmp_path / "grid.png").is_file() and (tmp_path / "runs" / "runs.html").is_file()
    assert "DCGAN generator" in capsys.readouterr().out


def test_every_public_function_has_a_docstring():
    missing = []
    for name in genlab.__all__:
        obj = getattr(genlab, name)
        if callable(obj) and not inspect.getdoc(obj):
            missing.append(name)
        for member, value in inspect.getmembers(obj) if inspect.isclass(obj) and obj.__module__.startswith("genlab") else []:
            if not member.startswith("_") and (inspect.isfunction(value) or isinstance(value, property)) and not inspect.getdoc(value):
                if value.__qualname__.split(".")[0] == obj.__name__ if inspect.isfunction(value) else True:
                    missing.append(f"{name}.{member}")
    assert missing == []


def test_the_manual_builds_strictly_and_a_broken_link_fails_it(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")

    def build(project: Path) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")], cwd=project,
                              capture_output=True, text=True, timeout=300, env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"})

    good = build(ROOT)
    assert good.returncode == 0, good.stderr
    assert "Train a new run" in (tmp_path / "site" / "api" / "index.html").read_text()  # the reference, from the docstrings
    broken = tmp_path / "broken"
    shutil.copytree(ROOT / "docs", broken / "docs")
    shutil.copy(ROOT / "mkdocs.yml", broken / "mkdocs.yml")
    (broken / "src").symlink_to(ROOT / "src")
    (broken / "docs" / "data.md").write_text((broken / "docs" / "data.md").read_text() + "\nSee [nowhere](no-such-page.md).\n")
    failed = build(broken)
    assert failed.returncode != 0 and "no-such-page.md" in failed.stderr
