"""Frozen, validated configuration objects for one VMC run, and the one schema of its settings.

A run is fully described by a :class:`RunConfig`: the physical system, the variational model,
the Metropolis sampler and the optimiser. Every field is declared once, with
:func:`~suite.bench.schema.setting` (key, default, rules, help); :data:`SETTINGS` reads them back
for the matrix keys, the CLI flags and validation. Every ``validate`` raises :class:`ConfigError`
naming the setting's key and the fix, so bad input never reaches JAX.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

from suite.bench.schema import (
    ALWAYS_HASHED,
    NON_NEGATIVE,
    POSITIVE,
    Setting,
    check_settings,
    collect,
    setting,
)
from suite.errors import ConfigError

ATTENTIONS: tuple[str, ...] = ("t5", "decoupled", "factored")
MODELS: tuple[str, ...] = ("vit", "rbm", "cnn")
"""the built-in wave functions; any other ``model`` is a plugin, ``package.module:factory``"""
PLUGIN_SPEC = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*$")
"""``model`` naming a plugin: an importable module and the factory in it"""
CNN_OPTIONS: dict[str, int | bool] = {"channels": 8, "layers": 2, "kernel": 3,
                                      "marshall_sign": True}
"""the CNN's ``model_options`` and their defaults (:class:`suite.engine.models.CNN`)"""
DTYPES: tuple[str, ...] = ("float64", "float32")
SR_MODES: tuple[str, ...] = ("auto", "sample", "parameter")
QK_SCALES: tuple[str, ...] = ("head", "embedding")
SCHEDULES: tuple[str, ...] = ("constant", "cosine", "exponential")
PURPOSES: tuple[str, ...] = ("accuracy", "timing")
"""what a cell is for: a converged energy (``accuracy``) or only its cost per step (``timing``:
a short run whose energy is never shown as an accuracy)"""
EXACT_CHECK_MAX_SITES = 16
"""the largest lattice ``exact_check`` enumerates (4 x 4: 12,870 Sz=0 states)"""
DEFAULT_CHECKPOINT_SECONDS = 120.0
"""seconds between two checkpoints of a running cell (``nqsbench run --checkpoint-every``)"""


@dataclass(frozen=True)
class SystemConfig:
    """The J1-J2 Heisenberg model on an L x L periodic square lattice (spin-1/2 units)."""

    L: int = setting("L", 4, "linear lattice size: L x L sites, periodic (even, >= 3)",
                     constraint=POSITIVE)
    J1: float = setting("J1", 1.0, "nearest-neighbour coupling")
    J2: float = setting("J2", 0.5, "next-nearest-neighbour (diagonal) coupling")

    def validate(self) -> SystemConfig:
        """Check every setting, then that the lattice is large enough and has an Sz=0 sector."""
        check_settings(self, SETTINGS)
        if self.L < 3:
            raise ConfigError("L", f"L={self.L} is too small: periodic bonds repeat; use L >= 3")
        if (self.L * self.L) % 2:
            raise ConfigError(
                "L",
                f"L={self.L} gives an odd number of sites ({self.L**2}), which has no Sz=0 "
                "sector; choose an even L",
            )
        return self

    @property
    def n_sites(self) -> int:
        return self.L * self.L


VIT_ONLY: tuple[str, ...] = ("attention", "layers", "d", "heads", "patch", "qk_scale")
"""the model settings an RBM ignores (not validated when ``model='rbm'``)"""


@dataclass(frozen=True)
class ModelConfig:
    """The variational wave function.

    ``model='vit'`` is the Vision Transformer of Rende & Viteritti (2025), section 2.3, with
    ``attention`` one of ``t5`` (eq. 4), ``decoupled`` (eq. 5), ``factored`` (eq. 6).
    ``model='rbm'`` is the complex RBM of Carleo & Troyer (2017) with ``alpha`` hidden units per
    site, built from real parameters. ``model='cnn'`` is the translation-invariant ResNet of
    Chen & Heyl (2024) with ``model_options`` ``channels``, ``layers``, ``kernel`` and
    ``marshall_sign`` (:data:`CNN_OPTIONS`). Any ``model = "package.module:factory"`` is a plugin
    (:mod:`suite.bench.plugins`): ``factory(L, **model_options)`` returns the Flax module, and a
    ``name`` option (not passed on) names it in tables.
    """

    model: str = setting("model", "vit", "wave function: vit (Vision Transformer), rbm "
                         "(complex RBM), cnn (translation-invariant ResNet) or your own, "
                         "package.module:factory")
    attention: str = setting("attention", "factored", "ViT attention (paper eqs. 4, 5, 6)",
                             choices=ATTENTIONS)
    layers: int = setting("layers", 2, "ViT encoder blocks n_l", constraint=POSITIVE)
    d: int = setting("d", 16, "ViT embedding dimension (a multiple of heads)",
                     constraint=POSITIVE)
    heads: int = setting("heads", 2, "ViT attention heads h", constraint=POSITIVE)
    patch: int = setting("patch", 2, "ViT linear patch size b (divides L)", constraint=POSITIVE)
    alpha: int = setting("alpha", 1, "RBM hidden units per site", constraint=POSITIVE)
    dtype: str = setting("dtype", "float64", "network precision", choices=DTYPES)
    qk_scale: str = setting("qk_scale", "head", "queries x keys divided by sqrt of: the per-head "
                            "dimension d/h, or the embedding dimension d (the paper's eqs. 4-5)",
                            choices=QK_SCALES, before="head")
    model_options: dict | None = setting("model_options", None, "options of a cnn or plugin "
                                         "model: a table in a matrix file, JSON on the command "
                                         "line (a plugin's factory gets them as keyword "
                                         "arguments; a name option names it in tables)",
                                         before=None)

    def __post_init__(self) -> None:
        if self.model_options == {}:  # no options: the same cell as none given (TOML has no null)
            object.__setattr__(self, "model_options", None)

    @property
    def is_plugin(self) -> bool:
        """``model`` names a plugin factory rather than a built-in model."""
        return self.model not in MODELS

    def validate(self, L: int) -> ModelConfig:
        """Check every setting that applies to the model, then patch | L and heads | d (ViT),
        or the options of a CNN or plugin."""
        if self.is_plugin and not PLUGIN_SPEC.match(self.model):
            raise ConfigError("model", f"unknown value {self.model!r}; choose one of "
                                       f"{', '.join(MODELS)}, or a plugin written "
                                       "package.module:factory (e.g. my_model:build)")
        skip = {"vit": ("alpha",), "rbm": VIT_ONLY}.get(self.model, (*VIT_ONLY, "alpha"))
        check_settings(self, SETTINGS, skip=skip)
        if self.model != "vit":
            self._check_options()
            return self
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
        self._check_options()
        return self

    def _check_options(self) -> None:
        """Options only for a CNN (known keys, positive integers, an odd kernel) or a plugin
        (anything; ``name`` a string)."""
        options = self.model_options or {}
        if options and self.model in ("vit", "rbm"):
            raise ConfigError("model_options", f"model={self.model} takes no options (they are "
                                               "for cnn and plugin models); use its own "
                                               "settings instead")
        if self.model == "cnn":
            for key, value in options.items():
                if key == "name":
                    continue
                if key not in CNN_OPTIONS:
                    raise ConfigError("model_options", f"the cnn has no option {key!r}; its "
                                                       f"options: {', '.join(CNN_OPTIONS)} "
                                                       "and name")
                if key == "marshall_sign":
                    if not isinstance(value, bool):
                        raise ConfigError("model_options", f"marshall_sign must be true or "
                                                           f"false, got {value!r}")
                elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise ConfigError("model_options", f"{key} must be a positive integer, got "
                                                       f"{value!r}")
            if options.get("kernel", CNN_OPTIONS["kernel"]) % 2 == 0:
                raise ConfigError("model_options", "kernel must be odd (a centred periodic "
                                                   "convolution)")
        if "name" in options and not isinstance(options["name"], str):
            raise ConfigError("model_options", f"name must be a string, got {options['name']!r}")

    def cnn_options(self) -> dict[str, int | bool]:
        """The CNN's options with their defaults filled in."""
        return {**CNN_OPTIONS, **self.factory_options()}

    def factory_options(self) -> dict:
        """A plugin factory's (or the CNN's) keyword arguments: the options without ``name``."""
        return {k: v for k, v in (self.model_options or {}).items() if k != "name"}


@dataclass(frozen=True)
class SamplerConfig:
    """Metropolis exchange sampling in the Sz=0 sector.

    ``n_chains`` defaults to ``n_samples`` (one sample per chain per step). A sweep is N proposed
    exchanges per chain. ``thermalization_sweeps`` are run once when chains are created,
    ``discard_sweeps`` at the start of every step (with ``decorrelation`` > 0, at most that
    many: as few as keep the chains' autocorrelation below it, :mod:`suite.engine.sampler`).
    ``chunk_size`` bounds the number of configurations that go through the network in one call
    (``None``: no chunking).

    ``dtype`` is the precision of the network inside the Markov chain (``None``: the model's).
    ``float32`` with a ``float64`` model samples with a single-precision copy of the parameters,
    so the chains target |psi_32|^2; local energies, log-derivatives and the SR solve stay in
    double precision, and every step records how far log psi_32 strays from log psi_64 on its
    samples, which bounds the resulting bias (see :mod:`suite.engine.precision`).
    """

    n_samples: int = setting("samples", 1024, "samples per optimisation step",
                             constraint=POSITIVE)
    n_chains: int | None = setting("chains", None, "Markov chains (default: one per sample; "
                                   "must divide samples)", constraint=POSITIVE)
    sweeps_per_sample: int = setting("sweeps_per_sample", 1, "sweeps between two samples of a "
                                     "chain (a sweep is N proposed exchanges)",
                                     constraint=POSITIVE, aliases=("--sweeps",))
    thermalization_sweeps: int = setting("thermalization_sweeps", 32, "sweeps to thermalise "
                                         "new chains", constraint=NON_NEGATIVE,
                                         aliases=("--thermalization",))
    discard_sweeps: int = setting("discard_sweeps", 5, "sweeps discarded at the start of every "
                                  "step (with decorrelation, the most)", constraint=NON_NEGATIVE,
                                  aliases=("--discard",))
    decorrelation: float = setting("decorrelation", 0.0, "adaptive sampling when > 0: each step "
                                   "discards the fewest sweeps after which the chains' "
                                   "autocorrelation of log|psi|, measured the step before, was at "
                                   "most this (0: always discard_sweeps)", constraint=NON_NEGATIVE,
                                   before=0.0)
    chunk_size: int | None = setting("chunk_size", 16384, "network evaluations per call (bounds "
                                     "memory; None: no chunking)", constraint=POSITIVE)
    dtype: str | None = setting("sampler_dtype", None, "network precision inside the Markov "
                                "chain (default: dtype); float32 with a float64 model is mixed "
                                "precision, with the bias bound recorded", choices=DTYPES)

    def validate(self) -> SamplerConfig:
        """Check every setting, then that the chains divide the samples."""
        check_settings(self, SETTINGS)
        if self.decorrelation >= 1:
            raise ConfigError("decorrelation", f"decorrelation={self.decorrelation} must be below "
                              "1 (an autocorrelation; e.g. 0.1), or 0 for a fixed discard_sweeps")
        if self.n_chains is not None and self.n_samples % self.n_chains:
            raise ConfigError(
                "chains",
                f"samples={self.n_samples} is not a multiple of chains={self.n_chains}; "
                "choose chains that divide samples",
            )
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
    ``parameter`` (the P x P metric), or ``auto`` (the smaller of the two). ``momentum`` > 0
    turns SR into SPRING (Goldshlager, Abrahamsen & Lin 2024; NetKet's
    ``VMC_SR(momentum=...)``), which carries the previous direction from step to step.
    """

    steps: int = setting("steps", 300, "optimisation steps", constraint=POSITIVE)
    learning_rate: float = setting("learning_rate", 0.02, "learning rate (start of its schedule)",
                                   constraint=POSITIVE)
    learning_rate_schedule: str = setting("learning_rate_schedule", "constant", "learning-rate "
                                          "schedule over the steps", choices=SCHEDULES)
    learning_rate_final: float | None = setting("learning_rate_final", None, "final learning "
                                                "rate of a cosine or exponential schedule",
                                                constraint=POSITIVE)
    diag_shift: float = setting("diag_shift", 1e-3, "SR diagonal shift (start of its schedule)",
                                constraint=POSITIVE)
    diag_shift_schedule: str = setting("diag_shift_schedule", "constant", "diagonal-shift "
                                       "schedule over the steps", choices=SCHEDULES)
    diag_shift_final: float | None = setting("diag_shift_final", None, "final diagonal shift of "
                                             "a cosine or exponential schedule",
                                             constraint=POSITIVE)
    sr_mode: str = setting("sr_mode", "auto", "SR linear system: the 2M x 2M sample kernel, the "
                           "P x P parameter metric, or auto (the smaller)", choices=SR_MODES)
    sr_solver: str = setting("sr_solver", "dense", "SR from the whole Jacobian (dense), from "
                             "Jacobian blocks recomputed as needed (chunked: memory O(M^2 + "
                             "chunk P)), or auto (chunked above 2 GiB of Jacobian per device)",
                             choices=("dense", "chunked", "auto"), before="dense")
    sr_chunk: int | None = setting("sr_chunk", None, "samples per Jacobian block of the chunked "
                                   "SR solver (default: the network chunk, lowered to fit "
                                   "512 MiB, or what --memory-budget selects); changes memory, "
                                   "never the update", constraint=POSITIVE, hashed=False)
    momentum: float = setting("momentum", 0.0, "SPRING momentum mu in [0, 1): SR regularised "
                              "towards mu times the previous direction (0: plain SR; NetKet "
                              "suggests about 0.8)", constraint=NON_NEGATIVE, before=0.0)

    def validate(self) -> OptimizerConfig:
        """Check every setting, then that a decaying schedule has its final value and that the
        momentum is below 1."""
        check_settings(self, SETTINGS)
        if self.momentum >= 1:
            raise ConfigError("momentum", f"momentum={self.momentum} must be below 1 (SPRING "
                                          "needs mu in [0, 1)); choose e.g. 0.8, or 0 for "
                                          "plain SR")
        for prefix in ("learning_rate", "diag_shift"):
            schedule = getattr(self, f"{prefix}_schedule")
            if schedule != "constant" and getattr(self, f"{prefix}_final") is None:
                raise ConfigError(f"{prefix}_final", f"the {schedule} {prefix}_schedule decays "
                                                     "to a final value; give one")
        return self


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines one optimisation run."""

    system: SystemConfig = field(default_factory=SystemConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    seed: int = setting("seed", 0, "random seed of the parameters and the chains",
                        constraint=NON_NEGATIVE)
    eval_samples: int | None = setting("eval_samples", None, "samples of the final evaluation "
                                       "pass (default: 4x samples; a multiple of chains)",
                                       constraint=POSITIVE)
    purpose: str = setting("purpose", "accuracy", "what the cell measures: a converged energy, "
                           "or only the cost per step (timing cells never show an energy error "
                           "in accuracy tables); a label, not part of the cell id",
                           choices=PURPOSES, hashed=False)
    exact_check: bool = setting("exact_check", False, "after training, enumerate the Sz=0 "
                                "sector and record the trained state's exact energy and Var(H) "
                                f"beside the Monte Carlo ones (at most {EXACT_CHECK_MAX_SITES} "
                                "sites); not part of the cell id", hashed=False)
    symmetry_projection: bool = setting("symmetry_projection", False, "after training, also "
                                        "evaluate the state projected onto the lattice "
                                        "symmetries the ViT lacks (point group, translations "
                                        "within a patch) and the spin-flip parity; not "
                                        "part of the cell id", hashed=False)
    target: float | None = setting("target", None, "a relative energy error this cell is "
                                   "raced to (nqsbench compare --metric time-to-target) and "
                                   "whose time to target every run records beside 1e-1 ... "
                                   "1e-4; not part of the cell id", constraint=POSITIVE,
                                   hashed=False)

    def validate(self) -> RunConfig:
        """Check every section, then that the evaluation samples fill the chains evenly."""
        self.system.validate()
        self.model.validate(self.system.L)
        self.sampler.validate()
        self.optimizer.validate()
        check_settings(self, SETTINGS)
        if self.exact_check and self.system.n_sites > EXACT_CHECK_MAX_SITES:
            raise ConfigError(
                "exact_check",
                f"L={self.system.L} has {self.system.n_sites} sites; the exact check enumerates "
                f"the Sz=0 sector only up to {EXACT_CHECK_MAX_SITES} sites (4 x 4): turn "
                "exact_check off or choose L <= 4",
            )
        if self.sampler.dtype not in (None, self.model.dtype) and self.model.is_plugin:
            raise ConfigError("sampler_dtype", "mixed-precision sampling rebuilds the model in "
                                               "another dtype, which a plugin cannot promise; "
                                               "leave sampler_dtype unset for plugins")
        if self.symmetry_projection and self.model.model != "vit":
            raise ConfigError("symmetry_projection", "projects the ViT onto the symmetries it "
                                                     "lacks; turn it off for model="
                                                     f"{self.model.model}")
        if self.target is not None and self.target >= 1:
            raise ConfigError("target", f"target={self.target} is a relative energy error and "
                                        "must be below 1; choose e.g. 1e-3")
        if self.eval_samples is not None and self.eval_samples % self.sampler.chains:
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
        built = {name: kind(**data[name]) for name, kind in _SECTIONS.items()}
        run = {s.attribute: data.get(s.attribute, s.default if s.before is ALWAYS_HASHED
                                     else s.before)
               for s in SETTINGS.values() if s.section == "run" and s.attribute != "seed"}
        return cls(**built, seed=data["seed"], **run)

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> RunConfig:
        """A configuration from flat keys (:data:`SETTINGS`); unset keys keep their defaults."""
        sections: dict[str, dict[str, Any]] = {name: {} for name in (*_SECTIONS, "run")}
        for key, value in settings.items():
            s = SETTINGS[key]
            sections[s.section][s.attribute] = value
        built = {name: kind(**sections[name]) for name, kind in _SECTIONS.items()}
        return cls(**built, **sections["run"])

    def settings(self) -> dict[str, Any]:
        """The flat key -> value view (the inverse of :meth:`from_settings`)."""
        return {key: getattr(self if s.section == "run" else getattr(self, s.section), s.attribute)
                for key, s in SETTINGS.items()}


_SECTIONS = {"system": SystemConfig, "model": ModelConfig, "sampler": SamplerConfig,
             "optimizer": OptimizerConfig}

SETTINGS: dict[str, Setting] = collect(RunConfig)
"""Every setting of a run by key, in field order: the one schema (see :mod:`suite.bench.schema`)."""
