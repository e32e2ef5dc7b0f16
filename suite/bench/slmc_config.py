"""The configuration of one self-learning Monte Carlo run (the `slmc` benchmark family).

Every setting is declared once with :func:`suite.bench.schema.setting`, like the VMC family's
:class:`~suite.bench.config.RunConfig`: the matrix keys (a matrix file with ``family = "slmc"``),
``--only`` filters and the records' ``config`` all come from here. The physics is the
double-exchange model of :mod:`suite.engine.slmc.double_exchange` (hopping ``t``, spin-electron
coupling ``J``, chemical potential ``mu``, temperature); then how the exact chain samples the
training data, how the effective model is built and trained, and how long the nested chain runs.

Plain Python: no JAX here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from suite.bench.schema import NON_NEGATIVE, POSITIVE, Setting, check_settings, collect, setting
from suite.errors import ConfigError

EFFECTIVE_MODELS: tuple[str, ...] = ("linear", "transformer")


def _shells(L: int) -> int:
    """Distinct nonzero minimal-image distances on an L x L torus (no JAX: counted here)."""
    return len({min(x, L - x) ** 2 + min(y, L - y) ** 2
                for x in range(L) for y in range(L)}) - 1


@dataclass(frozen=True)
class SLMCConfig:
    """Everything that determines one SLMC run: model, exact chain, effective model, training,
    nested chain."""

    family: ClassVar[str] = "slmc"

    L: int = setting("L", 6, "side of the periodic square lattice (N = L^2 classical spins)",
                     constraint=POSITIVE)
    t: float = setting("t", 1.0, "electron hopping (the unit of energy)", constraint=POSITIVE)
    J: float = setting("J", 1.0, "spin-electron coupling, (J / 2) S_i . c^dag_i sigma c_i")
    mu: float = setting("mu", 0.0, "chemical potential (0: half filling)")
    temperature: float = setting("temperature", 0.05, "temperature T = 1 / beta",
                                 constraint=POSITIVE)
    effective_model: str = setting("effective_model", "linear", "the effective model: linear "
                                   "spin-spin couplings, or the equivariant Transformer",
                                   choices=EFFECTIVE_MODELS)
    layers: int = setting("layers", 0, "attention layers of the Transformer (0 for linear)",
                          constraint=NON_NEGATIVE)
    couplings: int = setting("couplings", 3, "distance shells of spin-spin couplings J_n in the "
                             "effective energy (1 = nearest neighbours)", constraint=POSITIVE)
    block_shells: int = setting("block_shells", 1, "shells around a site summed into the "
                                "Transformer's block spins Q, K, V", constraint=POSITIVE)
    chains: int = setting("chains", 16, "independent Markov chains (exact and SLMC)",
                          constraint=POSITIVE)
    thermalisation: int = setting("thermalisation", 100, "sweeps of the exact chain before "
                                  "recording", constraint=NON_NEGATIVE)
    train_samples: int = setting("train_samples", 64, "configurations recorded per exact chain "
                                 "(half train the effective model, half test it)",
                                 constraint=POSITIVE)
    sweeps_between: int = setting("sweeps_between", 1, "exact sweeps between recorded "
                                  "configurations", constraint=POSITIVE)
    epochs: int = setting("epochs", 300, "AdamW epochs over the training half",
                          constraint=NON_NEGATIVE)
    batch_size: int = setting("batch_size", 64, "configurations per AdamW step",
                              constraint=POSITIVE)
    learning_rate: float = setting("learning_rate", 1e-2, "AdamW learning rate (the start of "
                                   "its schedule)", constraint=POSITIVE)
    learning_rate_final: float | None = setting(
        "learning_rate_final", None, "AdamW's learning rate at the last epoch, reached by a "
        "cosine decay (omit it: constant)", constraint=POSITIVE, before=None)
    weight_decay: float = setting("weight_decay", 1e-4, "AdamW weight decay",
                                  constraint=NON_NEGATIVE)
    outer_steps: int = setting("outer_steps", 200, "SLMC steps (one exact evaluation each) per "
                               "chain", constraint=POSITIVE)
    inner_sweeps: int = setting("inner_sweeps", 3, "sweeps of the effective model's chain per "
                                "SLMC step", constraint=POSITIVE)
    seed: int = setting("seed", 0, "random seed (chains, initialisation, training order)",
                        constraint=NON_NEGATIVE)

    @property
    def beta(self) -> float:
        return 1.0 / self.temperature

    def validate(self) -> SLMCConfig:
        """Check every setting, then the rules between them; returns ``self``.

        Raises:
            ConfigError: naming the setting and the fix.
        """
        check_settings(self, SLMC_SETTINGS)
        if self.L < 2:
            raise ConfigError("L", f"must be at least 2, got {self.L}")
        shells = _shells(self.L)
        for name in ("couplings", "block_shells"):
            if getattr(self, name) > shells:
                raise ConfigError(name, f"must be at most {shells} on an {self.L} x {self.L} "
                                        f"lattice (its distinct distances), got "
                                        f"{getattr(self, name)}")
        if self.effective_model == "linear" and self.layers:
            raise ConfigError("layers", f"must be 0 for effective_model = 'linear' (it has no "
                                        f"attention), got {self.layers}; or choose 'transformer'")
        if self.effective_model == "transformer" and not self.layers:
            raise ConfigError("layers", "the transformer needs at least one layer (0 layers is "
                                        "the linear model: effective_model = 'linear')")
        return self

    def to_dict(self) -> dict[str, Any]:
        """Plain data for records: every setting by its key, and the family."""
        return {"family": self.family, **self.settings()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SLMCConfig:
        """The inverse of :meth:`to_dict` (not validated)."""
        return cls.from_settings({k: v for k, v in data.items() if k in SLMC_SETTINGS})

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> SLMCConfig:
        """A configuration from flat keys; unset keys keep their defaults."""
        return cls(**{SLMC_SETTINGS[key].attribute: value for key, value in settings.items()})

    def settings(self) -> dict[str, Any]:
        """The flat key -> value view."""
        return {key: getattr(self, s.attribute) for key, s in SLMC_SETTINGS.items()}


SLMC_SETTINGS: dict[str, Setting] = collect(SLMCConfig)
"""Every setting of the family, by matrix key."""


__all__ = ["EFFECTIVE_MODELS", "SLMCConfig", "SLMC_SETTINGS"]
