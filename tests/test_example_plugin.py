"""The model-plugin example (examples/my_model/) end to end, as its README runs it: the matrix in
a subprocess with the plugin's directory on the Python path, then the table of its records."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "my_model"


def _nqsbench(*args: str) -> subprocess.CompletedProcess:
    path = os.pathsep.join(p for p in (str(EXAMPLE), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": path, "JAX_PLATFORMS": "cpu"}
    return subprocess.run([sys.executable, "-m", "suite", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("mine")
    done = _nqsbench("run", "--matrix", str(EXAMPLE / "matrix.toml"), "--results",
                     str(directory), "--no-progress")
    assert done.returncode == 0, done.stdout + done.stderr
    return directory


def _records(results: Path) -> dict[str, dict]:
    records = [json.loads(path.read_text()) for path in (results / "runs").glob("*.json")]
    return {record["config"]["model"]["model"]: record for record in records}


def test_the_plugin_s_record_names_it(results):
    records = _records(results)
    assert set(records) == {"my_model:build", "vit"}
    assert records["vit"].get("plugin") is None  # a built-in model stores none
    mine = records["my_model:build"]
    assert mine["status"] == "completed"
    assert mine["plugin"]["model"] == "my_model:build"
    assert mine["plugin"]["options"] == {"hidden": 16, "name": "MyMLP"}
    assert mine["plugin"]["name"] == "MyMLP"
    assert Path(mine["plugin"]["file"]) == EXAMPLE / "my_model.py"
    assert mine["metrics"]["relative_error"] < 0.1  # trained to something sensible (J2 = 0)


def test_the_table_shows_the_plugin_s_name_and_parameter_count(results):
    # by hand, from the module's shapes, N = 4 * 4 sites, H = hidden = 16:
    # hidden Dense kernel (N, H) + bias (H,), log_modulus kernel (H, 1), phase kernel (H, 1)
    n_sites, hidden = 4 * 4, 16
    expected = n_sites * hidden + hidden + hidden + hidden  # 256 + 16 + 16 + 16 = 304
    record = _records(results)["my_model:build"]
    assert record["metrics"]["n_parameters"] == expected

    done = _nqsbench("table", "--results", str(results), "--format", "csv")
    assert done.returncode == 0, done.stderr
    rows = [row for row in csv.DictReader(io.StringIO(done.stdout))
            if row["model"] == "my_model:build"]
    assert len(rows) == 1
    assert int(rows[0]["n_parameters"]) == expected
    assert "MyMLP" in rows[0].values()  # the name option, not passed to the factory

    done = _nqsbench("table", "--results", str(results))
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if "MyMLP" in line]
    assert len(lines) == 1 and f"| {expected} |" in lines[0], done.stdout
