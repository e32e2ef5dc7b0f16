"""Models named for people, once: every table, figure, label and plugin record uses these.

:func:`display_model_name` names a model: a ViT by its attention as the paper does (``T5``,
``Decoupled``, ``Factored``), the baselines ``RBM`` and ``CNN``, and a plugin
(``model = "package.module:factory"``) by its ``name`` option, else by its factory's name
(``my_model:build`` is ``build``). A plugin whose name is a built-in's (any case) gets
:data:`PLUGIN_SUFFIX`, so ``CNN (plugin)`` never passes for the built-in CNN.
:func:`model_sort_key` orders names: the ViT attentions in the paper's order, then the
baselines, then plugins alphabetically. No JAX here: ``nqsbench table`` and the dashboard use it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from suite.bench.config import CNN_OPTIONS, MODELS

ATTENTION_ORDER = {"t5": 0, "decoupled": 1, "factored": 2}
ATTENTION_NAMES = {"t5": "T5", "decoupled": "Decoupled", "factored": "Factored"}
BASELINE_NAMES = {"rbm": "RBM", "cnn": "CNN"}
BUILTIN_ORDER: tuple[str, ...] = (*ATTENTION_NAMES.values(), *BASELINE_NAMES.values())
"""the built-in models' names in table and legend order; plugins follow alphabetically"""
PLUGIN_SUFFIX = " (plugin)"
"""added to a plugin's name that is also a built-in's"""
_RESERVED = frozenset(name.casefold() for name in (*BUILTIN_ORDER, "ViT"))


def is_plugin(model: Any) -> bool:
    """``model`` names a plugin factory (``package.module:factory``), not a built-in model."""
    return isinstance(model, str) and model not in MODELS


def _options(options: Any) -> dict[str, Any]:
    """A record's or a row's options as a dictionary (``None`` and NaN: none)."""
    return dict(options) if isinstance(options, Mapping) else {}


def display_model_name(model: str, options: dict | None = None,
                       attention: str | None = None) -> str:
    """The model's name in tables, figures and records.

    Args:
        model: the ``model`` setting: ``vit``, ``rbm``, ``cnn`` or ``package.module:factory``.
        options: the ``model_options`` table (``None`` for none).
        attention: the ViT's attention (ignored for other models).

    Returns:
        ``T5``, ``Decoupled``, ``Factored`` (``ViT`` without an attention), ``RBM``, ``CNN``, or
        the plugin's ``name`` option, else its factory's name; a plugin named like a built-in
        model gets `` (plugin)``.
    """
    if model == "vit":
        if not isinstance(attention, str) or not attention:
            return "ViT"
        return ATTENTION_NAMES.get(attention, attention)
    if model in BASELINE_NAMES:
        return BASELINE_NAMES[model]
    name = _options(options).get("name")
    name = str(name) if isinstance(name, str) and name.strip() else str(model).rpartition(":")[2]
    return name + PLUGIN_SUFFIX if name.casefold() in _RESERVED else name


def model_sort_key(name: str) -> tuple[int, str, str]:
    """Order of model names: :data:`BUILTIN_ORDER`, then the others alphabetically."""
    order = {known: index for index, known in enumerate(BUILTIN_ORDER)}
    return order.get(name, len(order)), name.casefold(), name


def model_rank(model: str, attention: str | None) -> int:
    """A row's place before its name: ViT attentions (paper order), RBM, CNN, then plugins."""
    if model == "vit":
        return ATTENTION_ORDER.get(attention or "", len(ATTENTION_ORDER))
    if model in BASELINE_NAMES:
        return len(ATTENTION_ORDER) + 1 + list(BASELINE_NAMES).index(model)
    return len(ATTENTION_ORDER) + 1 + len(BASELINE_NAMES)


def options_key(options: Any) -> str:
    """The options as canonical JSON (sorted keys; ``""`` for none): a key to group or sort on,
    since a dictionary is neither hashable nor ordered."""
    found = _options(options)
    return json.dumps(found, sort_keys=True, separators=(",", ":"), default=str) if found else ""


def effective_options(model: str, options: Any) -> dict[str, Any]:
    """What builds the model: a CNN's options with their defaults, a plugin's without ``name``
    (which only names it); nothing for the ViT and the RBM (their settings are columns)."""
    found = {key: value for key, value in _options(options).items() if key != "name"}
    if model == "cnn":
        return {**CNN_OPTIONS, **found}
    return found if is_plugin(model) else {}


def options_text(options: Mapping[str, Any], separator: str = " ") -> str:
    """``channels=8 layers=2``: options for a label (booleans lower case, as in TOML)."""
    def text(value: Any) -> str:
        if isinstance(value, bool):
            return json.dumps(value)
        return f"{value:g}" if isinstance(value, float) else str(value)

    return separator.join(f"{key}={text(value)}" for key, value in options.items())


def model_size(row: Mapping[str, Any]) -> dict[str, Any]:
    """What sets the size of a run's model beyond the ViT's table columns: ``alpha`` for the
    RBM, :func:`effective_options` for a CNN or plugin, nothing for the ViT. ``row`` is a run
    row or a record's ``config.model`` (``model``, ``alpha``, ``model_options``)."""
    model = row.get("model")
    if model == "rbm":
        return {"alpha": row.get("alpha")}
    return effective_options(model, row.get("model_options"))


def model_details(row: Mapping[str, Any]) -> str:
    """A run's model in a few words beside its name: ``2 layer(s) d=16`` (ViT), ``alpha=1``
    (RBM), ``channels=8 layers=2 kernel=3 marshall_sign=true`` (CNN), a plugin's options (or
    ``no options``)."""
    if row.get("model") == "vit":
        return f"{row.get('layers')} layer(s) d={row.get('d')}"
    return options_text(model_size(row)) or "no options"


def distinguishing_labels(names: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Each name, followed by what tells it apart from rows of the same name (their
    :func:`model_size`): ``CNN (channels=8)`` beside ``CNN (channels=16)``. A name no other row
    shares, or rows of one size, keep the bare name (a ViT's size is in the table's columns)."""
    sizes = [model_size(row) for row in rows]
    labels = list(names)
    for name in set(names):
        same = [index for index, other in enumerate(names) if other == name]
        keys = sorted({key for index in same for key in sizes[index]})
        differ = [key for key in keys
                  if len({json.dumps(sizes[index].get(key), sort_keys=True, default=str)
                          for index in same}) > 1]
        if len(same) < 2 or not differ:
            continue
        for index in same:
            shown = {key: sizes[index].get(key, "unset") for key in differ}
            labels[index] = f"{name} ({options_text(shown, ', ')})"
    return labels


def in_model_order(group: pd.DataFrame) -> pd.DataFrame:
    """Run rows in table order: ViT attentions first (the paper's order), then RBM and CNN,
    then plugins by name; a ViT by layers, d and heads, another model by its parameter count;
    then options and steps. Adds ``model_label``, the name a table shows
    (:func:`distinguishing_labels`: ``CNN (channels=8)`` beside ``CNN (channels=16)``)."""
    if "model_options" not in group:
        group = group.assign(model_options=None)
    records = group.to_dict("records")
    names = [display_model_name(row["model"], row["model_options"], row["attention"])
             for row in records]
    group = group.assign(
        _rank=[model_rank(row["model"], row["attention"]) for row in records],
        _name=[name.casefold() for name in names],
        _size=group["n_parameters"].where(group["model"] != "vit", 0),
        _options=[options_key(row["model_options"]) for row in records],
        model_label=distinguishing_labels(names, records))
    group = group.sort_values(["_rank", "_name", "layers", "d", "heads", "_size", "_options",
                               "steps"], kind="stable")
    return group.drop(columns=["_rank", "_name", "_size", "_options"])


__all__ = ["ATTENTION_NAMES", "ATTENTION_ORDER", "BASELINE_NAMES", "BUILTIN_ORDER",
           "PLUGIN_SUFFIX", "display_model_name", "distinguishing_labels", "effective_options",
           "in_model_order", "is_plugin", "model_details", "model_rank", "model_size",
           "model_sort_key", "options_key", "options_text"]
