"""Each model's colour and legend place, the same in every figure.

The built-in models keep fixed colours (the ViT attentions as in the paper's figures, the RBM
grey, the CNN brown) and come first in :data:`MODEL_ORDER`; any other model (a plugin, named by
``suite.report.models.display_model_name``) follows alphabetically, in a colour chosen from its
name's hash, so it keeps its colour whichever other plugins a figure shows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from suite.report.models import BUILTIN_ORDER, model_sort_key

MODEL_COLOURS = {"T5": "#1f77b4", "Decoupled": "#d62728", "Factored": "#2ca02c", "RBM": "#7f7f7f",
                 "CNN": "#8c564b"}
MODEL_ORDER = BUILTIN_ORDER
"""legend order of the built-in models; other models (plugins) follow alphabetically"""
OTHER_COLOURS = ("#9467bd", "#ff7f0e", "#e377c2", "#17becf", "#bcbd22", "#393b79", "#637939",
                 "#8c6d31", "#843c39", "#7b4173")
"""the colours of other models (plugins), one chosen by the name's hash"""
ENGINE_COLOURS = {"nqsbench": "#1f77b4", "netket": "#ff7f0e"}
"""each engine's colour in the races against NetKet (step time and time to target)"""


def model_colour(name: str) -> str:
    """The colour of a model (attention type, baseline or plugin) in every figure."""
    if name in MODEL_COLOURS:
        return MODEL_COLOURS[name]
    digest = hashlib.sha256(str(name).encode()).digest()
    return OTHER_COLOURS[int.from_bytes(digest[:4], "big") % len(OTHER_COLOURS)]


def engine_colour(engine: str) -> str:
    """The colour of an engine in a race: :data:`ENGINE_COLOURS`, else one chosen by its name."""
    if engine in ENGINE_COLOURS:
        return ENGINE_COLOURS[engine]
    digest = hashlib.sha256(str(engine).encode()).digest()
    return OTHER_COLOURS[int.from_bytes(digest[:4], "big") % len(OTHER_COLOURS)]


def ordered_models(names: Iterable[str]) -> list[str]:
    """Model names in legend order: :data:`MODEL_ORDER`, then the others alphabetically."""
    return sorted(names, key=model_sort_key)
