"""Model plugins (issue 18, item 1): every way a plugin can be wrong is exit status 2 with a
message naming the matrix key and the fix, and no record; a good plugin runs like a built-in
model and its record says where it came from."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest

from suite.bench.config import RunConfig
from suite.cli import main
from suite.errors import ConfigError

GOOD = """
import flax.linen as nn
import jax.numpy as jnp


class Jastrow(nn.Module):
    '''log psi = s.W.s + i s.phi: N^2 + N real parameters.'''

    @nn.compact
    def __call__(self, x):
        n = x.shape[-1]
        w = self.param("w", nn.initializers.normal(0.01), (n, n))
        phi = self.param("phi", nn.initializers.normal(0.01), (n,))
        return jnp.einsum("bi,ij,bj->b", x, w, x) + 1j * (x @ phi)


def build(L, scale=1.0):
    return Jastrow()
"""

BROKEN = {
    "shape": ("return jnp.zeros((x.shape[0], 1), jnp.complex128)",
              "returns shape (3, 1) for a batch of 3"),
    "real": ("return jnp.sum(x * self.param('w', nn.initializers.zeros, (x.shape[-1],)), -1)",
             "returns float64 log-amplitudes; return complex ones"),
    "complex_parameters": ("return jnp.sum(x * self.param('w', nn.initializers.zeros, "
                           "(x.shape[-1],), jnp.complex128), -1)",
                           "has a complex128 parameter ['w']"),
    "raises": ("raise RuntimeError('boom')", "RuntimeError: boom"),
    "state": ("return jnp.sum(x, -1) * self.variable('batch_stats', 'mean', lambda: 1.0).value "
              "+ 0j", "has state besides parameters (batch_stats)"),
}


def _module(tmp_path: Path, name: str, body: str) -> None:
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(body))


def _broken(name: str, line: str) -> str:
    return ("import flax.linen as nn\nimport jax.numpy as jnp\n\n\n"
            "class Bad(nn.Module):\n    @nn.compact\n    def __call__(self, x):\n"
            f"        {line}\n\n\ndef build(L):\n    return Bad()\n")


def _matrix(tmp_path: Path, model: str, options: str = "") -> Path:
    path = tmp_path / "matrix.toml"
    fixed = f'model = "{model}"\n' + (f"model_options = {options}\n" if options else "")
    path.write_text(f'name = "mine"\ndescription = "a plugin"\n[fixed]\n{fixed}samples = 32\n'
                    'steps = 3\neval_samples = 64\nchunk_size = 64\n[axes]\nL = [4]\n')
    return path


def _run(tmp_path: Path, model: str, capsys, options: str = "") -> tuple[int, str]:
    status = main(["run", "--matrix", str(_matrix(tmp_path, model, options)), "--results",
                   str(tmp_path / "results"), "--no-progress"])
    return status, capsys.readouterr().err


def _records(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "results" / "runs").glob("*.json"))


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_plugin_is_exit_status_2_naming_the_key_and_writes_no_record(
        case, tmp_path, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(tmp_path))
    _module(tmp_path, f"broken_{case}", _broken(case, BROKEN[case][0]))
    status, err = _run(tmp_path, f"broken_{case}:build", capsys)
    assert status == 2 and "Traceback" not in err
    assert ": model: " in err and BROKEN[case][1] in err, err
    assert "(cell " in err and _records(tmp_path) == []


def test_a_module_that_cannot_be_imported(tmp_path, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(tmp_path))
    status, err = _run(tmp_path, "no_such_plugin_module:build", capsys)
    assert status == 2 and ": model: cannot import 'no_such_plugin_module'" in err
    assert "PYTHONPATH=." in err and _records(tmp_path) == []


def test_a_module_without_the_factory(tmp_path, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(tmp_path))
    _module(tmp_path, "no_factory_here", GOOD)
    status, err = _run(tmp_path, "no_factory_here:missing", capsys)
    assert status == 2 and "'no_factory_here' has no attribute 'missing'" in err


def test_a_factory_that_is_not_callable(tmp_path, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(tmp_path))
    _module(tmp_path, "not_callable", "build = 3\n")
    status, err = _run(tmp_path, "not_callable:build", capsys)
    assert status == 2 and ": model: " in err and "not a callable" in err
    assert _records(tmp_path) == []


def test_a_factory_that_returns_no_module(tmp_path, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(tmp_path))
    _module(tmp_path, "not_a_module", "def build(L):\n    return 42\n")
    status, err = _run(tmp_path, "not_a_module:build", capsys)
    assert status == 2 and "returned an object of type int, not a flax.linen.Module" in err


def test_options_the_factory_does_not_take_name_model_options(tmp_path, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(tmp_path))
    _module(tmp_path, "strict_options", GOOD)
    status, err = _run(tmp_path, "strict_options:build", capsys, options="{ width = 3 }")
    assert status == 2 and ": model_options: " in err and "width" in err
    assert _records(tmp_path) == []


@pytest.mark.parametrize(("settings", "key", "words"), [
    ({"model": "not a plugin"}, "model", "package.module:factory"),
    ({"model": "vit", "model_options": {"channels": 4}}, "model_options", "takes no options"),
    ({"model": "cnn", "model_options": {"width": 4}}, "model_options", "no option 'width'"),
    ({"model": "cnn", "model_options": {"kernel": 4}}, "model_options", "kernel must be odd"),
    ({"model": "cnn", "model_options": {"channels": 0}}, "model_options", "positive integer"),
    ({"model": "mine:build", "model_options": {"name": 3}}, "model_options", "string"),
    ({"model": "mine:build", "sampler_dtype": "float32"}, "sampler_dtype", "plugin"),
])
def test_model_settings_are_checked_before_anything_is_imported(settings, key, words):
    with pytest.raises(ConfigError) as error:
        RunConfig.from_settings({"L": 4, **settings}).validate()
    assert error.value.field == key and words in error.value.message


def test_a_good_plugin_runs_and_its_record_says_where_it_came_from(tmp_path, monkeypatch,
                                                                   capsys):
    """In a git work tree: the record names the import path, the options (``name`` kept in
    the record, not passed to the factory), the file and its commit; the parameter count is
    the module's: N^2 + N = 272 at L = 4."""
    source = tmp_path / "src"
    source.mkdir()
    _module(source, "jastrow_plugin", GOOD)
    git = ["git", "-C", str(source), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "plugin"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True,
                            check=True).stdout.strip()
    monkeypatch.syspath_prepend(str(source))
    status, err = _run(tmp_path, "jastrow_plugin:build", capsys,
                       options='{ scale = 2.0, name = "Jastrow" }')
    assert status == 0, err
    [path] = _records(tmp_path)
    record = json.loads(path.read_text())
    assert record["status"] == "completed"
    assert record["plugin"] == {"model": "jastrow_plugin:build",
                                "options": {"scale": 2.0, "name": "Jastrow"},
                                "name": "Jastrow", "file": str(source / "jastrow_plugin.py"),
                                "git_commit": commit, "git_dirty": False}
    assert record["metrics"]["n_parameters"] == 16 * 16 + 16
    assert record["config"]["model"]["model_options"] == {"scale": 2.0, "name": "Jastrow"}


def test_the_cnn_baseline_and_the_plugin_train_from_the_command_line(tmp_path, monkeypatch,
                                                                     capsys):
    monkeypatch.syspath_prepend(str(tmp_path))
    _module(tmp_path, "train_plugin", GOOD)
    common = ["--L", "4", "--steps", "2", "--samples", "32", "--eval-samples", "64",
              "--no-progress"]
    assert main(["train", "--model", "train_plugin:build", *common]) == 0
    assert "parameters: 272" in capsys.readouterr().out
    assert main(["train", "--model", "cnn", "--model-options", '{"channels": 4}', *common]) == 0
    assert "parameters: 672" in capsys.readouterr().out  # 9*4+4 + 2*2*(9*16+4) + 2*(16+4)
    assert main(["train", "--model", "train_plugin:nothing", *common]) == 2
    assert "--model: 'train_plugin' has no attribute 'nothing'" in capsys.readouterr().err


def test_a_cnn_or_plugin_cell_id_ignores_the_vit_settings_and_empty_options():
    """Changing the ViT's d in a mixed matrix keeps the other models' cells (and records); an
    empty options table is no options (TOML has no null)."""
    from suite.bench.matrix import config_hash

    def cell_hash(**settings):
        return config_hash(RunConfig.from_settings({"L": 4, **settings}).validate())

    for model in ("cnn", "mine:build"):
        assert cell_hash(model=model, d=8) == cell_hash(model=model, d=16, layers=3, alpha=2)
        assert cell_hash(model=model) == cell_hash(model=model, model_options={})
        assert cell_hash(model=model) != cell_hash(model=model, model_options={"name": "x"})
    assert cell_hash(model="vit", d=8) != cell_hash(model="vit", d=16)
    assert cell_hash(model="rbm", d=8) != cell_hash(model="rbm", d=16)  # ids from before plugins
