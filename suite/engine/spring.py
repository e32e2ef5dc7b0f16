"""SPRING: stochastic reconfiguration with momentum (Goldshlager, Abrahamsen & Lin 2024,
arXiv:2401.10190), as NetKet's ``VMC_SR(momentum=mu)`` does it.

In the notation of :mod:`suite.engine.sr` (X the (2M, P) centred, sqrt(weight)-scaled stack of
the Re and Im log-derivatives, e the matching centred local energies, lambda the diagonal
shift), with phi_prev the previous step's direction (zero at the first step) and mu in [0, 1),
each step's direction is

    phi = argmin_phi ||X phi - 2e||^2 + lambda ||phi - mu phi_prev||^2
        = X^T (X X^T + lambda I)^-1 (2e - mu X phi_prev) + mu phi_prev     (sample space)
        = (X^T X + lambda I)^-1 (2 X^T e + lambda mu phi_prev)             (parameter space)

(the two are equal by the push-through identity). mu = 0 is plain SR. The solvers of
:mod:`suite.engine.sr` take ``momentum`` and ``previous``; :class:`suite.engine.vmc.VMC` carries
phi_prev in its optimiser state. This module holds what the chunked sample-space solver needs
on top: X phi_prev without the Jacobian.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree


def jacobian_times_previous(
    log_amplitude: Callable[[Any, jax.Array], jax.Array],
    params: Any,
    blocks: jax.Array,
    previous: jax.Array,
    mean: list[jax.Array],
    scale: jax.Array,
    constrain: Callable[[jax.Array], jax.Array],
) -> jax.Array:
    """X phi_prev in the row order of the chunked solver, (sample, Re/Im) interleaved.

    One forward-mode pass per block (``jax.jvp`` with ``previous`` as the tangent, inside a
    ``lax.scan``) gives J phi_prev, (chunk, 2) per block; it is then centred with the weighted
    mean log-derivative (``mean``, the per-leaf (2, size) rows, dotted with phi_prev) and scaled
    by sqrt(w) (``scale``, (n, chunk); 0 on padded samples).

    Args:
        log_amplitude: ``(params, configs (B, N)) -> (B,)`` complex log psi.
        params: the parameters, any pytree.
        blocks: (n, chunk, N) the padded samples, block by block.
        previous: (P,) phi_prev, in the order of ``ravel_pytree(params)``.
        mean: per leaf, (2, size): the weighted mean of d(Re, Im) log psi / d theta.
        scale: (n, chunk) sqrt of the sample weights.
        constrain: applied to every block of samples (a sharding constraint, or nothing).

    Returns:
        (n * chunk * 2,): X phi_prev, rows (sample, Re/Im).
    """
    tangent = ravel_pytree(params)[1](previous)
    offset = sum(m @ leaf.reshape(-1) for m, leaf in zip(
        mean, jax.tree_util.tree_leaves(tangent), strict=True))  # (2,): mean . phi_prev

    def block_product(_, block):
        block = constrain(block)

        def real_and_imaginary(parameters):
            value = log_amplitude(parameters, block)
            return jnp.stack([jnp.real(value), jnp.imag(value)], axis=-1)

        return None, jax.jvp(real_and_imaginary, (params,), (tangent,))[1]  # (chunk, 2)

    _, products = jax.lax.scan(block_product, None, blocks)  # (n, chunk, 2)
    return ((products - offset) * scale[:, :, None]).reshape(-1)


__all__ = ["jacobian_times_previous"]
