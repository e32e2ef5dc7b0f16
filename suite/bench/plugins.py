"""Bring your own wave function: ``model = "package.module:factory"``.

The protocol (docs/plugins.md): ``factory(L, **model_options)`` returns a ``flax.linen.Module``
that maps a batch of configurations, shape ``(batch, L*L)`` with entries +1/-1, to complex
log-amplitudes, shape ``(batch,)``, from real parameters. The module is imported from the Python
path (``PYTHONPATH=.`` for a file beside the matrix). :func:`build_plugin` imports, builds and
checks it on a dummy batch before anything runs; every way it can be wrong is a
:class:`~suite.errors.ConfigError` naming the matrix key (``model`` or ``model_options``) and the
fix, so a broken plugin writes no record. :func:`plugin_provenance` is what a record stores: the
import path, the options and, where the module's file lives in a git work tree, its commit.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from pathlib import Path
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from suite.bench.config import ModelConfig
from suite.errors import ConfigError
from suite.report.models import display_model_name

CHECK_BATCH = 3
"""configurations in the dummy batch every plugin is checked on"""


def load_factory(spec: str):
    """The callable named by ``package.module:factory``, imported from the Python path."""
    module_name, _, attribute = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ConfigError("model", f"cannot import {module_name!r} for the plugin {spec!r} "
                                   f"({error}); put its directory on the Python path, e.g. "
                                   "PYTHONPATH=. nqsbench run ...") from None
    except Exception as error:  # noqa: BLE001 (the user's module failed while importing)
        raise ConfigError("model", f"importing {module_name!r} for the plugin {spec!r} raised "
                                   f"{type(error).__name__}: {error}; fix the module") from None
    factory = getattr(module, attribute, None)
    if factory is None:
        raise ConfigError("model", f"{module_name!r} has no attribute {attribute!r}; name the "
                                   "factory that builds your module, package.module:factory")
    if not callable(factory):
        raise ConfigError("model", f"{spec!r} is an object of type {type(factory).__name__}, "
                                   "not a callable; "
                                   "name a function or class that builds a flax.linen.Module")
    return factory


def plugin_name(config: ModelConfig) -> str:
    """The plugin's name in tables: its ``name`` option, else the factory's name
    (:func:`suite.report.models.display_model_name`, which tells it apart from a built-in)."""
    return display_model_name(config.model, config.model_options, config.attention)


def build_plugin(config: ModelConfig, L: int) -> nn.Module:
    """``factory(L, **options)``, checked to be a ``flax.linen.Module``."""
    factory = load_factory(config.model)
    options = config.factory_options()
    try:
        module = factory(L, **options)
    except TypeError as error:
        raise ConfigError("model_options", f"{config.model}(L, **{options!r}) failed: {error}; "
                                           "give the options its factory accepts") from None
    except Exception as error:  # noqa: BLE001 (the user's factory failed)
        raise ConfigError("model", f"{config.model}(L={L}, **{options!r}) raised "
                                   f"{type(error).__name__}: {error}") from None
    if not isinstance(module, nn.Module):
        raise ConfigError("model", f"{config.model} returned an object of type "
                                   f"{type(module).__name__}, not a flax.linen.Module; return "
                                   "the module itself")
    return module


def check_plugin(module: nn.Module, spec: str, n_sites: int, dtype=jnp.float64) -> int:
    """Initialise and apply ``module`` on a dummy batch: the output must be complex of shape
    ``(batch,)`` and every parameter real. Returns the number of real parameters."""
    batch = jnp.where(jnp.arange(CHECK_BATCH * n_sites).reshape(CHECK_BATCH, n_sites) % 2 == 0,
                      1.0, -1.0).astype(dtype)
    try:
        variables = module.init(jax.random.key(0), batch)
        output = module.apply(variables, batch)
    except Exception as error:  # noqa: BLE001 (the user's module failed on a valid batch)
        raise ConfigError("model", f"{spec} fails on a batch of shape {batch.shape} "
                                   f"({type(error).__name__}: {error}); it must map "
                                   "(batch, L*L) configurations of +1/-1 to (batch,) "
                                   "log-amplitudes") from None
    if set(variables) - {"params"}:
        raise ConfigError("model", f"{spec} has state besides parameters "
                                   f"({', '.join(sorted(set(variables) - {'params'}))}); a wave "
                                   "function here holds parameters only (no batch statistics)")
    shape = getattr(output, "shape", None)
    if shape != (CHECK_BATCH,):
        raise ConfigError("model", f"{spec} returns shape {shape} for a batch of "
                                   f"{CHECK_BATCH}; return one log-amplitude per configuration, "
                                   f"shape ({CHECK_BATCH},)")
    if not jnp.issubdtype(output.dtype, jnp.complexfloating):
        raise ConfigError("model", f"{spec} returns {output.dtype} log-amplitudes; return "
                                   "complex ones (log|psi| + i arg psi)")
    leaves = jax.tree_util.tree_leaves_with_path(variables.get("params", {}))
    for path, leaf in leaves:
        if not jnp.issubdtype(leaf.dtype, jnp.floating):
            raise ConfigError("model", f"{spec} has a {leaf.dtype} parameter "
                                       f"{jax.tree_util.keystr(path)}; use real parameters and "
                                       "build complex numbers from them")
    return int(sum(leaf.size for _, leaf in leaves))


def plugin_provenance(config: ModelConfig) -> dict[str, Any]:
    """What a record stores about a plugin: import path, options, source file, git commit."""
    factory = load_factory(config.model)
    module = sys.modules.get(getattr(factory, "__module__", ""), None)
    try:
        source = inspect.getsourcefile(module) if module is not None else None
    except TypeError:
        source = None
    found = {"model": config.model, "options": config.model_options or {},
             "name": plugin_name(config), "file": source, "git_commit": None, "git_dirty": None}
    if source is not None:
        from suite.bench.provenance import git_state

        state = git_state(Path(source).parent, only_here=True)
        found.update(git_commit=state["commit"], git_dirty=state["dirty"])
    return found


__all__ = ["CHECK_BATCH", "build_plugin", "check_plugin", "load_factory", "plugin_name",
           "plugin_provenance"]
