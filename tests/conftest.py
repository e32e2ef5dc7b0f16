"""Shared fixtures and session settings.

Importing ``suite.engine`` turns on float64 for every test. Compiled XLA programs go to JAX's
persistent compilation cache (``.pytest_cache/jax-compilation-cache`` unless
``NQSBENCH_TEST_JAX_CACHE`` names another directory), shared with the subprocesses the tests
start: the many tests that build the same small engine compile it once per session, and a
second session on the same machine compiles almost nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

import jax
import jax.numpy as jnp
import pytest

import suite.engine  # noqa: F401  (turns on float64)
from suite.bench.build import build_model
from suite.bench.config import ModelConfig
from suite.engine.hamiltonian import J1J2Hamiltonian
from suite.engine.lattice import SquareLattice
from suite.engine.models import init_parameters


def _use_persistent_compilation_cache() -> Path:
    """Send this session's and its subprocesses' compilations to one persistent cache."""
    directory = Path(os.environ.get("NQSBENCH_TEST_JAX_CACHE",
                                    Path(__file__).resolve().parents[1] / ".pytest_cache"
                                    / "jax-compilation-cache"))
    settings = {"compilation_cache_dir": str(directory),
                "persistent_cache_min_compile_time_secs": 0,
                "persistent_cache_min_entry_size_bytes": 0}
    for name, value in settings.items():
        os.environ[f"JAX_{name.upper()}"] = str(value)  # read by the subprocesses' JAX
        jax.config.update(f"jax_{name}", value)
    return directory


def _compile_quickly() -> None:
    """Compile with LLVM's optimisation level 0 (XLA_FLAGS, inherited by subprocesses).

    Most of a test's time is compiling small programs once; level 0 takes 40 % less (19 s ->
    11 s for the tiny matrix's first run on the 2-core VM). Results change only in the last
    bits (``tests/test_vmc.py`` checks log psi, the local energies and the exact energy on the
    whole 4x4 sector against the default level to 1e-13, slow-marked); every test compares
    quantities computed at one level, or against exact results with a tolerance far above
    rounding. ``NQSBENCH_TEST_XLA_OPTIMIZE=1`` keeps XLA's default level.
    """
    if os.environ.get("NQSBENCH_TEST_XLA_OPTIMIZE") == "1":
        return
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_backend_optimization_level" not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} --xla_backend_optimization_level=0".strip()


JAX_CACHE = _use_persistent_compilation_cache()
_compile_quickly()

LONGEST_MODULES = ("test_local_energy.py", "test_runner.py", "test_sampler.py", "test_sr.py",
                   "test_compare.py", "test_sharding.py")
"""the modules that take longest (2-core VM), started first so that the parallel workers
(``-n auto --dist loadscope``) do not end with one of them running alone"""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run :data:`LONGEST_MODULES` first, in that order; the rest keep their order."""
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return LONGEST_MODULES.index(name) if name in LONGEST_MODULES else len(LONGEST_MODULES)

    items.sort(key=rank)

GOLDEN = Path(__file__).resolve().parent / "data" / "golden"


@pytest.fixture
def golden_results(tmp_path: Path) -> Path:
    """A results directory holding exactly the run records committed at e102dea (listed in
    ``tests/data/golden/records.txt``): the tables printed from them are golden, whatever a
    user has since added to ``results/`` (the README's main job adds the smoke records)."""
    runs = tmp_path / "golden-results" / "runs"
    runs.mkdir(parents=True)
    committed = Path(__file__).resolve().parents[1] / "results" / "runs"
    for name in (GOLDEN / "records.txt").read_text().split():
        (runs / name).write_bytes((committed / name).read_bytes())
    return runs.parent


TINY_MATRIX = """
name = "tiny"
[fixed]
L = 4
layers = 1
d = 4
heads = 2
samples = 32
steps = 6
seed = 3
[axes]
attention = ["t5", "factored"]
J2 = [0.5]
"""
"""A two-cell matrix that runs in seconds (for runner and command-line tests)."""

SMALL_MODELS = {
    "t5": ModelConfig(attention="t5", layers=2, d=8, heads=2, patch=2),
    "decoupled": ModelConfig(attention="decoupled", layers=2, d=8, heads=2, patch=2),
    "factored": ModelConfig(attention="factored", layers=2, d=8, heads=2, patch=2),
    "rbm": ModelConfig(model="rbm", alpha=1),
}


def random_model(name: str, L: int = 4, seed: int = 0, spread: float = 1.0):
    """A small model with random parameters, perturbed so that |psi|^2 is far from flat."""
    model = build_model(SMALL_MODELS[name], L)
    key_init, key_noise = jax.random.split(jax.random.key(seed))
    params = init_parameters(model, key_init, L * L)
    leaves, tree = jax.tree_util.tree_flatten(params)
    keys = jax.random.split(key_noise, len(leaves))
    leaves = [leaf + spread * 0.3 * jax.random.normal(k, leaf.shape, leaf.dtype)
              for leaf, k in zip(leaves, keys, strict=True)]
    return model, jax.tree_util.tree_unflatten(tree, leaves)


@pytest.fixture(scope="session")
def hamiltonian_4x4():
    return {J2: J1J2Hamiltonian(SquareLattice.square(4), 1.0, J2) for J2 in (0.0, 0.5)}


def log_psi_of(model, params):
    return jax.jit(lambda configs: model.apply({"params": params}, jnp.asarray(configs)))
