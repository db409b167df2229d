"""The example notebooks: the quickstart runs top to bottom on the CPU; the homework notebook's code runs on tiny
settings (its install and shell cells left out)."""

import json
import time
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_the_notebooks_are_stored_without_outputs():
    for path in EXAMPLES.glob("*.ipynb"):
        for cell in json.loads(path.read_text())["cells"]:
            assert cell.get("outputs", []) == [] and cell.get("execution_count") is None, path.name


def test_the_quickstart_runs_top_to_bottom_in_under_a_minute(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    monkeypatch.setenv("GENLAB_EXAMPLES_OUT", str(tmp_path / "runs"))
    notebook = nbformat.read(EXAMPLES / "quickstart.ipynb", as_version=4)
    started = time.perf_counter()
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    seconds = time.perf_counter() - started
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    html = [o["data"]["text/html"] for o in outputs if o.output_type == "execute_result" and "text/html" in o.get("data", {})]
    assert any("DCGAN (GAN loss)" in page and "finished, 4 of 4 epochs" in page for page in html)  # the run shows itself
    assert any("lsgan / smoke" in page for page in html)  # the runs table
    pictures = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(pictures) >= 3  # the curves, the sample grid, the reconstructions
    assert (tmp_path / "runs" / "gan" / "report.html").is_file() and (tmp_path / "runs" / "vae" / "checkpoints" / "latest.pt").is_file()
    assert seconds < 90, seconds  # under a minute on a quiet 2-core machine; slack for a loaded one


def test_the_homework_notebook_runs_on_tiny_settings(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    notebook = nbformat.read(EXAMPLES / "assignment.ipynb", as_version=4)
    code = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    tiny = 'SETTINGS = dict(preset="smoke", data="builtin", device="cpu", epochs=1, limit=64, batch_size=16, width=8, z_dim=8, image_size=16)'
    source = "\n".join(
        cell.replace(next(line for line in cell.splitlines() if line.startswith("SETTINGS")), tiny) if "SETTINGS = " in cell else cell
        for cell in code if not cell.lstrip().startswith(("%", "!", "#"))  # the install and shell cells need a network or a shell
    ).replace('protocol_name="assignment", device="cuda"', 'network="builtin", n=64, splits=1, device="cpu"')
    monkeypatch.chdir(tmp_path)
    shown = []
    exec(compile(source, "assignment.ipynb", "exec"), {"display": shown.append})  # noqa: S102 - the notebook's own code
    assert sorted(p.name for p in (tmp_path / "runs" / "homework").iterdir()) == ["gan-s0", "lsgan-s0", "sweep.json", "wgan-gp-s0", "wgan-s0"]
    assert len(shown) == 8  # each run and its grid
