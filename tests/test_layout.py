"""The package layout's contracts: who may import what, and no JAX on the reporting side."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold():
    """engine stands alone; report and the dashboard import no JAX (pyproject's contracts)."""
    linter = Path(sys.executable).with_name("lint-imports")
    if not linter.exists():
        pytest.skip("import-linter is not installed (pip install -e '.[test]')")
    done = subprocess.run([str(linter)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 kept, 0 broken" in done.stdout


def _run_without_jax(code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter where ``import jax`` fails."""
    blocker = "import sys\nfor name in ('jax', 'jaxlib', 'flax', 'optax'):\n    sys.modules[name] = None\n"
    return subprocess.run([sys.executable, "-c", blocker + code], cwd=ROOT, capture_output=True,
                          text=True)


def test_the_dashboard_and_the_report_load_without_jax():
    done = _run_without_jax("import dashboard, suite.report, suite.bench.matrix\n"
                            "print(sorted(m for m in sys.modules if m.startswith('suite')))")
    assert done.returncode == 0, done.stderr
    assert "suite.engine" not in done.stdout and "suite.perf" not in done.stdout


def test_table_runs_without_jax(golden_results):
    done = _run_without_jax("from suite.cli import main\n"
                            f"sys.exit(main(['table', '--matrix', 'quick', '--results', "
                            f"{str(golden_results)!r}]))")
    assert done.returncode == 0, done.stderr
    assert done.stdout == (ROOT / "tests/data/golden/table-quick.markdown").read_text()


def test_no_module_is_longer_than_about_400_lines():
    sources = [*ROOT.joinpath("suite").rglob("*.py"), *ROOT.joinpath("dashboard").rglob("*.py")]
    lengths = {str(path.relative_to(ROOT)): len(path.read_text().splitlines()) for path in sources}
    assert len(lengths) > 40
    assert {path: n for path, n in lengths.items() if n > 420} == {}


def test_the_flat_layout_s_names_still_import_from_suite():
    """Scripts written against ``from suite import train, RunConfig, ...`` keep working, and
    ``import suite`` alone still loads no JAX."""
    done = _run_without_jax("import suite\nassert suite.__version__\n"
                            "print(sorted(m for m in sys.modules if m.startswith('suite')))")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['suite', 'suite.version']"
    import suite
    from suite.bench.train import train
    from suite.engine.vmc import VMC

    assert suite.train is train and suite.VMC is VMC
    assert {name: getattr(suite, name).__name__ for name in suite._MOVED} == {
        name: name for name in suite._MOVED}
