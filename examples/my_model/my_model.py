"""An nqsbench model plugin: a one-hidden-layer network with the Marshall sign (J1-J2 model).

The protocol (docs/plugins.md): a matrix names ``model = "my_model:build"``; nqsbench imports
``my_model`` from the Python path and calls ``build(L, **model_options)`` (without ``name``). The
returned ``flax.linen.Module`` maps configurations, shape (batch, L*L) of +1/-1, to complex
log-amplitudes log psi, shape (batch,), from real parameters only; nqsbench checks this on a
dummy batch before any cell runs and casts the parameters to the run's dtype after init.
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp
import numpy as np


class MarshallMLP(nn.Module):
    """log psi(s) = a . tanh(W s + b) + i [c . tanh(W s + b) + pi * (down spins on sublattice A)].

    No symmetry is built in. Parameters (N = L*L sites, H = hidden): W (N, H), b (H,), a (H,),
    c (H,); N H + 3 H real numbers, 304 for L = 4 and H = 16.
    """

    L: int
    hidden: int = 16

    @nn.compact
    def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
        # x: (batch, L*L) of +1 (up) / -1 (down); real float64 parameters (init casts them anyway)
        h = jnp.tanh(nn.Dense(self.hidden, param_dtype=jnp.float64, name="hidden")(x))
        # two real heads, no bias (a constant would only rescale psi or turn a global phase),
        # initialised small so that psi starts as the Marshall-signed uniform state
        small = dict(use_bias=False, param_dtype=jnp.float64,
                     kernel_init=nn.initializers.normal(0.01))
        log_modulus = nn.Dense(1, name="log_modulus", **small)(h)[:, 0]
        phase = nn.Dense(1, name="phase", **small)(h)[:, 0]
        # Marshall sign (-1)^(down spins on sublattice A): site i = row * L + col, A where
        # row + col is even; the exact sign of the J2 = 0 ground state, a good start for J2 > 0
        row, col = np.divmod(np.arange(self.L * self.L), self.L)
        on_a = jnp.asarray((row + col) % 2 == 0)
        down_on_a = jnp.sum(jnp.where(on_a, (1 - x) / 2, 0), axis=-1)
        return log_modulus + 1j * (phase + jnp.pi * down_on_a)


def build(L: int, hidden: int = 16) -> nn.Module:
    """The factory nqsbench calls: ``build(L, **model_options)``, ``name`` left out."""
    return MarshallMLP(L=L, hidden=hidden)
