"""Frozen, validated configuration objects for one VMC run.

A run is fully described by a :class:`RunConfig`: the physical system, the variational model,
the Metropolis sampler and the optimiser. Every ``validate`` raises :class:`ConfigError` naming
the field and the fix, so bad input never reaches JAX.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from suite.errors import ConfigError

ATTENTIONS: tuple[str, ...] = ("t5", "decoupled", "factored")
MODELS: tuple[str, ...] = ("vit", "rbm")
DTYPES: tuple[str, ...] = ("float64", "float32")
SR_MODES: tuple[str, ...] = ("auto", "sample", "parameter")
SCHEDULES: tuple[str, ...] = ("constant", "cosine", "exponential")
DEFAULT_CHECKPOINT_SECONDS = 120.0
"""seconds between two checkpoints of a running cell (``nqsbench run --checkpoint-every``)"""


def _require_positive_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(name, f"must be a positive integer, got {value!r}")


def _require_positive_float(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ConfigError(name, f"must be a positive number, got {value!r}")


def _require_choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(name, f"unknown value {value!r}; choose one of: {', '.join(allowed)}")


@dataclass(frozen=True)
class SystemConfig:
    """The J1-J2 Heisenberg model on an L x L periodic square lattice (spin-1/2 units)."""

    L: int = 4
    J1: float = 1.0
    J2: float = 0.5

    def validate(self) -> SystemConfig:
        _require_positive_int("L", self.L)
        if self.L < 3:
            raise ConfigError("L", f"L={self.L} is too small: periodic bonds repeat; use L >= 3")
        if (self.L * self.L) % 2:
            raise ConfigError(
                "L",
                f"L={self.L} gives an odd number of sites ({self.L**2}), which has no Sz=0 "
                "sector; choose an even L",
            )
        for name in ("J1", "J2"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(name, f"must be a number, got {value!r}")
        return self

    @property
    def n_sites(self) -> int:
        return self.L * self.L


@dataclass(frozen=True)
class ModelConfig:
    """The variational wave function.

    ``model='vit'`` is the Vision Transformer of Rende & Viteritti (2025), section 2.3, with
    ``attention`` one of ``t5`` (eq. 4), ``decoupled`` (eq. 5), ``factored`` (eq. 6).
    ``model='rbm'`` is the complex RBM of Carleo & Troyer (2017) with ``alpha`` hidden units per
    site, built from real parameters.
    """

    model: str = "vit"
    attention: str = "factored"
    layers: int = 2
    d: int = 16
    heads: int = 2
    patch: int = 2
    alpha: int = 1
    dtype: str = "float64"

    def validate(self, L: int) -> ModelConfig:
        _require_choice("model", self.model, MODELS)
        _require_choice("dtype", self.dtype, DTYPES)
        if self.model == "rbm":
            _require_positive_int("alpha", self.alpha)
            return self
        _require_choice("attention", self.attention, ATTENTIONS)
        for name in ("layers", "d", "heads", "patch"):
            _require_positive_int(name, getattr(self, name))
        if L % self.patch:
            raise ConfigError(
                "patch",
                f"L={L} is not divisible by the patch size {self.patch}; choose a patch size "
                f"that divides L (e.g. {', '.join(str(b) for b in range(1, L + 1) if L % b == 0)})",
            )
        if self.d % self.heads:
            raise ConfigError(
                "heads",
                f"the embedding dimension d={self.d} is not divisible by heads={self.heads}; "
                "choose d a multiple of heads",
            )
        return self


@dataclass(frozen=True)
class SamplerConfig:
    """Metropolis exchange sampling in the Sz=0 sector.

    ``n_chains`` defaults to ``n_samples`` (one sample per chain per step). A sweep is N proposed
    exchanges per chain. ``thermalization_sweeps`` are run once when chains are created,
    ``discard_sweeps`` at the start of every step. ``chunk_size`` bounds the number of
    configurations that go through the network in one call (``None``: no chunking).

    ``dtype`` is the precision of the network inside the Markov chain (``None``: the model's).
    ``float32`` with a ``float64`` model samples with a single-precision copy of the parameters,
    so the chains target |psi_32|^2; local energies, log-derivatives and the SR solve stay in
    double precision, and every step records how far log psi_32 strays from log psi_64 on its
    samples, which bounds the resulting bias (see :mod:`suite.engine.precision`).
    """

    n_samples: int = 1024
    n_chains: int | None = None
    sweeps_per_sample: int = 1
    thermalization_sweeps: int = 32
    discard_sweeps: int = 5
    chunk_size: int | None = 16384
    dtype: str | None = None

    def validate(self) -> SamplerConfig:
        _require_positive_int("samples", self.n_samples)
        if self.n_chains is not None:
            _require_positive_int("chains", self.n_chains)
            if self.n_samples % self.n_chains:
                raise ConfigError(
                    "chains",
                    f"samples={self.n_samples} is not a multiple of chains={self.n_chains}; "
                    "choose chains that divide samples",
                )
        _require_positive_int("sweeps_per_sample", self.sweeps_per_sample)
        for name in ("thermalization_sweeps", "discard_sweeps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(name, f"must be a non-negative integer, got {value!r}")
        if self.chunk_size is not None:
            _require_positive_int("chunk_size", self.chunk_size)
        if self.dtype is not None:
            _require_choice("sampler_dtype", self.dtype, DTYPES)
        return self

    @property
    def chains(self) -> int:
        return self.n_chains if self.n_chains is not None else self.n_samples

    @property
    def samples_per_chain(self) -> int:
        return self.n_samples // self.chains


@dataclass(frozen=True)
class OptimizerConfig:
    """Stochastic reconfiguration followed by a learning-rate step.

    ``learning_rate`` and ``diag_shift`` each follow a schedule (``constant``, ``cosine`` decay
    to ``*_final``, or ``exponential`` decay to ``*_final``) over ``steps``. ``sr_mode`` picks the
    linear system: ``sample`` (the 2M x 2M kernel, Chen & Heyl 2024 / Rende et al. 2024),
    ``parameter`` (the P x P metric), or ``auto`` (the smaller of the two).
    """

    steps: int = 300
    learning_rate: float = 0.02
    learning_rate_schedule: str = "constant"
    learning_rate_final: float | None = None
    diag_shift: float = 1e-3
    diag_shift_schedule: str = "constant"
    diag_shift_final: float | None = None
    sr_mode: str = "auto"

    def validate(self) -> OptimizerConfig:
        _require_positive_int("steps", self.steps)
        _require_positive_float("learning_rate", self.learning_rate)
        _require_positive_float("diag_shift", self.diag_shift)
        _require_choice("learning_rate_schedule", self.learning_rate_schedule, SCHEDULES)
        _require_choice("diag_shift_schedule", self.diag_shift_schedule, SCHEDULES)
        _require_choice("sr_mode", self.sr_mode, SR_MODES)
        for prefix in ("learning_rate", "diag_shift"):
            final = getattr(self, f"{prefix}_final")
            if final is not None:
                _require_positive_float(f"{prefix}_final", final)
            elif getattr(self, f"{prefix}_schedule") != "constant":
                raise ConfigError(
                    f"{prefix}_final",
                    f"a {getattr(self, f'{prefix}_schedule')} schedule needs the final value; "
                    f"set {prefix}_final",
                )
        return self


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines one optimisation run."""

    system: SystemConfig = field(default_factory=SystemConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    seed: int = 0
    eval_samples: int | None = None

    def validate(self) -> RunConfig:
        self.system.validate()
        self.model.validate(self.system.L)
        self.sampler.validate()
        self.optimizer.validate()
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError("seed", f"must be a non-negative integer, got {self.seed!r}")
        if self.eval_samples is not None:
            _require_positive_int("eval_samples", self.eval_samples)
            if self.eval_samples % self.sampler.chains:
                raise ConfigError(
                    "eval_samples",
                    f"eval_samples={self.eval_samples} is not a multiple of the number of chains "
                    f"({self.sampler.chains}); choose a multiple",
                )
        return self

    @property
    def evaluation_samples(self) -> int:
        """Samples of the final evaluation pass (default: 4x the training samples)."""
        return self.eval_samples if self.eval_samples is not None else 4 * self.sampler.n_samples

    def to_dict(self) -> dict:
        """Nested plain data (the form records store)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> RunConfig:
        """The inverse of :meth:`to_dict` (not validated)."""
        sections = {"system": SystemConfig, "model": ModelConfig, "sampler": SamplerConfig,
                    "optimizer": OptimizerConfig}
        built = {name: kind(**data[name]) for name, kind in sections.items()}
        return cls(**built, seed=data["seed"], eval_samples=data.get("eval_samples"))
