"""recipes/notebooks/creps_demo.ipynb: committed clean, and runs top to bottom on this backend.

The run executes the notebook in memory with nbclient (a `python3` ipykernel
of this interpreter, working directory a temporary folder), with a cell
injected after the `parameters` cell, as papermill does, that sets `CI = True`
(tiny sizes) and the backend under test. Any cell error fails the test. The
notebook renders the shipped preset `saved_models/creps_emoji_64`; while that
directory does not exist the run is skipped.
"""

import base64
import json
import os
import re
import sys
import time
from pathlib import Path

import keras
import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "recipes" / "notebooks" / "creps_demo.ipynb"
PRESET_DIR = REPO / "saved_models" / "creps_emoji_64"
KERNEL_TIMEOUT = 600  # seconds per cell; CI-sized runs take ~1 min (TensorFlow, PyTorch) to ~2.5 min (JAX) of CPU


def read_notebook():
    return nbformat.read(NOTEBOOK, as_version=4)


def parameters_index(notebook):
    indices = [i for i, cell in enumerate(notebook.cells) if "parameters" in cell.metadata.get("tags", [])]
    assert len(indices) == 1, f"expected exactly one cell tagged 'parameters', found {len(indices)}"
    return indices[0]


def test_notebook_is_committed_clean():
    notebook = read_notebook()
    nbformat.validate(notebook)
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    assert notebook.metadata["kernelspec"]["language"] == "python"
    for i, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"cell {i} has outputs; strip them before committing"
            assert cell.execution_count is None, f"cell {i} has an execution count; strip it before committing"
    assert notebook.cells[parameters_index(notebook)].cell_type == "code"


def _images(notebook):
    """Every displayed PNG/GIF image (base64-decoded) of an executed notebook."""
    found = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            for mime in ("image/png", "image/gif"):
                if mime in output.get("data", {}):
                    found.append((mime, base64.b64decode(output["data"][mime])))
    return found


def _text(notebook):
    return "".join(
        output.get("text", "") for cell in notebook.cells for output in cell.get("outputs", [])
        if output.get("output_type") == "stream"
    )


@pytest.mark.skipif(
    not PRESET_DIR.is_dir(),
    reason=f"{PRESET_DIR.relative_to(REPO)} does not exist: the notebook shows the shipped demo preset",
)
def test_notebook_runs(tmp_path, monkeypatch):
    backend = keras.config.backend()
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("KERAS_BACKEND", backend)
    # The kernel imports this checkout's keras_creps, installed or not.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))

    notebook = read_notebook()
    injected = nbformat.v4.new_code_cell(
        "# Injected by tests/recipes/test_notebook.py\n"
        "import sys\n"
        f"assert sys.prefix == {sys.prefix!r}, f'the kernel runs {{sys.executable}}, not the test interpreter'\n"
        "CI = True\n"
        f"BACKEND = {backend!r}\n"
        # JAX compiles one XLA program per kind of training step, ~50 CPU-seconds each for the demo
        # networks: without R1 both fine-tuning steps are the same kind (the other backends keep R1).
        + ("R1_GAMMA = 0.0\n" if backend == "jax" else "")
    )
    injected.metadata["tags"] = ["injected-parameters"]
    notebook.cells.insert(parameters_index(notebook) + 1, injected)

    client = NotebookClient(
        notebook, kernel_name="python3", timeout=KERNEL_TIMEOUT, allow_errors=False,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    start = time.monotonic()
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    elapsed = time.monotonic() - start
    print(f"notebook executed on {backend} in {elapsed:.1f} s")

    text = _text(notebook)
    assert f"Python: {sys.executable}" in text
    assert f"backend {backend}" in text
    tuned = re.search(r"fine-tuning updated (\d+) generator variables, the largest change (\S+)", text)
    assert tuned and int(tuned.group(1)) > 0 and float(tuned.group(2)) > 0, "fine-tuning left the generator as it was"
    images = _images(notebook)
    assert sum(mime == "image/png" for mime, _ in images) >= 8
    assert any(mime == "image/gif" and data.startswith(b"GIF8") for mime, data in images)

    out = tmp_path / "creps_demo"
    for name in ("seeds_64.png", "seeds_256.png", "classes.png", "rotations.png", "zoom.gif",
                 "finetune_before_after.png", "served.png"):
        assert (out / name).is_file(), name
    versions = list((out / "serving").iterdir())
    assert [v.name for v in versions] == ["1"] and (versions[0] / "saved_model.pb").is_file()
    metadata = json.loads((out / "creps_emoji_64_finetuned" / "metadata.json").read_text())
    assert metadata["backend"] == backend
