"""Stochastic reconfiguration (eqs. 1-2 of Rende & Viteritti 2025) with a diagonal shift.

With real parameters and a complex log-amplitude, let O_k(s) = d log psi(s) / d theta_k and stack
the centred real and imaginary parts of the M samples into X (2M x P), scaled by 1/sqrt(M), and
likewise the centred local energies into e (2M). Then

    S = X^T X                      (the real part of the quantum geometric tensor, eq. 2)
    grad E = 2 X^T e               (= -F of eq. 1, the exact gradient of the energy)
    direction = (S + lambda I)^-1 grad E

and the parameters move by -learning_rate * direction. When P > 2M the same direction is computed
in sample space, X^T (X X^T + lambda I)^-1 (2 e) (Chen & Heyl 2024; Rende et al. 2024), which is
the identical vector by the push-through identity. This matches NetKet's ``VMC_SR`` convention.

SPRING (SR with momentum mu, Goldshlager, Abrahamsen & Lin 2024; NetKet's
``VMC_SR(momentum=mu)``): both solvers also take ``momentum`` and ``previous`` (phi_prev, the
previous step's direction) and return argmin ||X phi - 2e||^2 + lambda ||phi - mu phi_prev||^2,

    (S + lambda I)^-1 (2 X^T e + lambda mu phi_prev)
    = X^T (X X^T + lambda I)^-1 (2e - mu X phi_prev) + mu phi_prev;

``gradient`` stays 2 X^T e, and mu = 0 is plain SR (:mod:`suite.engine.spring`).

:func:`sr_direction` takes the whole Jacobian (M, 2, P): 2 M P numbers, 12 GB in float64 at the
paper's 10x10 cell (M = 4096, P ~ 185k). :func:`sr_direction_chunked` computes the same direction
from the log-amplitude itself, holding about two (chunk, 2, P) Jacobian blocks at a time; its
memory and compute costs are in its docstring. :func:`choose_solver` resolves
``sr_solver = "auto"``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl

from suite.engine.spring import jacobian_times_previous

EIGEN_CUTOFF = 1e-12
SOLVERS: tuple[str, ...] = ("dense", "chunked", "auto")
"""``sr_solver``: the whole Jacobian, Jacobian blocks, or chunked only when the Jacobian is big"""
DENSE_JACOBIAN_BYTES = 2 * 1024**3
"""``auto`` picks the chunked solver when the dense Jacobian (2 M P numbers of the parameters'
dtype), divided over the devices that share the samples, would exceed this (2 GiB)"""
BLOCK_BYTES = DENSE_JACOBIAN_BYTES // 4
"""default bound on one Jacobian block (chunk x 2 x P numbers) of the chunked solver (512 MiB;
it holds two at a time)"""

LogAmplitude = Callable[[Any, jax.Array], jax.Array]
"""``(params, configs (B, N)) -> (B,)`` complex log psi"""


class SRSolution(NamedTuple):
    """The preconditioned direction and how it was obtained."""

    direction: jax.Array
    """(P,) natural-gradient direction; parameters move by -learning_rate times it."""
    gradient: jax.Array
    """(P,) the plain energy gradient 2 X^T e."""
    used_fallback: jax.Array
    """True where the Cholesky solve failed and the eigen-decomposition solver was used."""


def solve_positive_definite(matrix: jax.Array, rhs: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Solve ``matrix @ x = rhs`` for symmetric positive-definite ``matrix``.

    Cholesky first; if it breaks down (non-finite result: the shifted matrix is not numerically
    positive definite), fall back to an eigen-decomposition pseudo-inverse that discards
    eigenvalues below ``EIGEN_CUTOFF`` times the largest. No host synchronisation.

    Returns:
        ``(x, used_fallback)``.
    """
    cholesky = jnp.linalg.cholesky(matrix)
    x = jsl.cho_solve((cholesky, True), rhs)
    failed = ~jnp.all(jnp.isfinite(x))

    def eigen_solve(_):
        eigenvalues, vectors = jnp.linalg.eigh(matrix)
        keep = eigenvalues > EIGEN_CUTOFF * jnp.max(jnp.abs(eigenvalues))
        inverse = jnp.where(keep, 1.0 / jnp.where(keep, eigenvalues, 1.0), 0.0)
        return vectors @ (inverse * (vectors.T @ rhs))

    return jax.lax.cond(failed, eigen_solve, lambda _: x, None), failed


def choose_mode(mode: str, n_samples: int, n_parameters: int) -> str:
    """Resolve ``auto`` to ``sample`` when P > 2M (the kernel is the smaller matrix)."""
    if mode != "auto":
        return mode
    return "sample" if n_parameters > 2 * n_samples else "parameter"


def sr_direction(
    jacobian: jax.Array,
    local_energies: jax.Array,
    diag_shift: jax.Array,
    mode: str = "auto",
    weights: jax.Array | None = None,
    momentum: jax.Array | None = None,
    previous: jax.Array | None = None,
) -> SRSolution:
    """Stochastic-reconfiguration direction from per-sample log-derivatives.

    Args:
        jacobian: (M, 2, P) real: d Re log psi / d theta and d Im log psi / d theta per sample.
        local_energies: (M,) complex local energies.
        diag_shift: the diagonal shift lambda (scalar, may be traced).
        mode: ``sample``, ``parameter`` or ``auto``.
        weights: (M,) probabilities of the samples, summing to 1; ``None`` for Monte Carlo
            samples (1/M each). Exact enumeration passes |psi|^2 here.
        momentum: SPRING's mu (scalar, may be traced); ``None``: plain SR.
        previous: (P,) the previous step's direction phi_prev (``None``: plain SR).

    Returns:
        :class:`SRSolution`.
    """
    n_samples, _, n_parameters = jacobian.shape
    if weights is None:
        weights = jnp.full(n_samples, 1.0 / n_samples, dtype=jacobian.dtype)
    scale = jnp.sqrt(weights)
    mean_jacobian = jnp.tensordot(weights, jacobian, axes=1)
    centred = (jacobian - mean_jacobian) * scale[:, None, None]
    X = jnp.concatenate([centred[:, 0, :], centred[:, 1, :]], axis=0)  # (2M, P)
    de = (local_energies - jnp.sum(weights * local_energies)) * scale
    e = jnp.concatenate([jnp.real(de), jnp.imag(de)]).astype(X.dtype)  # (2M,)
    gradient = 2.0 * (X.T @ e)
    spring = momentum is not None and previous is not None
    if choose_mode(mode, n_samples, n_parameters) == "sample":
        kernel = X @ X.T + diag_shift * jnp.eye(2 * n_samples, dtype=X.dtype)
        rhs = 2.0 * e - momentum * (X @ previous) if spring else 2.0 * e
        y, failed = solve_positive_definite(kernel, rhs)
        direction = X.T @ y + momentum * previous if spring else X.T @ y
    else:
        metric = X.T @ X + diag_shift * jnp.eye(n_parameters, dtype=X.dtype)
        rhs = gradient + diag_shift * momentum * previous if spring else gradient
        direction, failed = solve_positive_definite(metric, rhs)
    return SRSolution(direction, gradient, failed)


def choose_solver(solver: str, n_samples: int, n_parameters: int, itemsize: int = 8,
                  n_devices: int = 1) -> str:
    """Resolve ``auto`` to ``chunked`` when one device's share of the dense Jacobian,
    2 M P ``itemsize`` bytes / ``n_devices``, exceeds :data:`DENSE_JACOBIAN_BYTES`; else ``dense``.

    Raises:
        ValueError: ``solver`` is not one of :data:`SOLVERS`.
    """
    if solver not in SOLVERS:
        raise ValueError(f"unknown SR solver {solver!r}; choose one of {', '.join(SOLVERS)}")
    if solver != "auto":
        return solver
    dense_bytes = 2 * n_samples * n_parameters * itemsize / max(n_devices, 1)
    return "chunked" if dense_bytes > DENSE_JACOBIAN_BYTES else "dense"


def solver_chunk_size(n_parameters: int, itemsize: int = 8, network_chunk: int | None = None,
                      requested: int | None = None) -> int:
    """Samples per Jacobian block of :func:`sr_direction_chunked`.

    ``requested`` when given; otherwise the network's evaluations per call (``network_chunk``,
    the sampler's ``chunk_size``: a block's backward pass stores that many samples'
    activations), lowered so that one block, chunk x 2 x P numbers, fits in
    :data:`BLOCK_BYTES`. At least 1.
    """
    if requested is not None:
        if requested < 1:
            raise ValueError(f"the SR chunk size must be positive, got {requested}")
        return requested
    budget = max(1, BLOCK_BYTES // (2 * n_parameters * itemsize))
    return budget if network_chunk is None else max(1, min(network_chunk, budget))


def sample_jacobian(log_amplitude: LogAmplitude, params: Any, configs: jax.Array) -> Any:
    """d(Re, Im) log psi / d theta of every configuration (B, N), one reverse pass per sample and
    component (``vmap`` of ``jacrev``): leaves (B, 2, *leaf shape); (B, 2, P) for flat ``params``.
    """
    def real_and_imaginary(parameters, sigma):
        value = log_amplitude(parameters, sigma[None])[0]
        return jnp.stack([jnp.real(value), jnp.imag(value)])

    return jax.vmap(jax.jacrev(real_and_imaginary), in_axes=(None, 0))(params, configs)


def _summed_vjp(log_amplitude: LogAmplitude, params: Any, blocks: jax.Array,
                cotangents: jax.Array, constrain: Callable[[jax.Array], jax.Array]
                ) -> list[jax.Array]:
    """sum_s sum_a cotangents[k, s, a] d(Re, Im)_a log psi(s) / d theta for each k.

    ``blocks`` (n, chunk, N) and ``cotangents`` (n, K, chunk, 2) are scanned block by block, one
    batched reverse pass per block and k; only the sum is carried. Returns the leaves, (K, size).
    """
    def add_block(total, block_and_cotangents):
        block, cotangent = constrain(block_and_cotangents[0]), block_and_cotangents[1]

        def real_and_imaginary(parameters):
            value = log_amplitude(parameters, block)
            return jnp.stack([jnp.real(value), jnp.imag(value)], axis=-1)

        _, pullback = jax.vjp(real_and_imaginary, params)
        pulled = jax.vmap(lambda c: pullback(c)[0])(cotangent)
        return [t + leaf.reshape(t.shape) for t, leaf in zip(total, _leaves(pulled), strict=True)
                ], None

    n = cotangents.shape[1]
    start = [jnp.zeros((n, leaf.size), leaf.dtype) for leaf in _leaves(params)]
    return jax.lax.scan(add_block, start, (blocks, cotangents))[0]


def _leaves(tree: Any) -> list[jax.Array]:
    return jax.tree_util.tree_leaves(tree)


def _unchanged(x: jax.Array) -> jax.Array:
    return x


def _sample_kernel(centred_block: Callable[[jax.Array], list[jax.Array]], n_blocks: int,
                   rows: int, e_blocks: jax.Array, sizes: list[int]
                   ) -> tuple[jax.Array, list[jax.Array]]:
    """K = X X^T (n_blocks rows x n_blocks rows) and X^T e from the row blocks X_i of X, each a
    list of per-leaf columns (rows, size) (never concatenated: that would copy the block).

    The upper triangle of blocks: for each i, X_i once, K_ii = X_i X_i^T, then for j > i,
    X_j again and K_ij = X_i X_j^T = K_ji^T. Nested ``fori_loop``s; the kernel is updated in
    place.
    """
    def product(a, b):
        return sum(x @ y.T for x, y in zip(a, b, strict=True))

    def row_of_blocks(i, carry):
        kernel, gradient = carry
        x_i = centred_block(i)
        kernel = jax.lax.dynamic_update_slice(kernel, product(x_i, x_i), (i * rows, i * rows))
        gradient = [g + x.T @ e_blocks[i] for g, x in zip(gradient, x_i, strict=True)]

        def off_diagonal(j, kernel):
            block = product(x_i, centred_block(j))
            kernel = jax.lax.dynamic_update_slice(kernel, block, (i * rows, j * rows))
            return jax.lax.dynamic_update_slice(kernel, block.T, (j * rows, i * rows))

        return jax.lax.fori_loop(i + 1, n_blocks, off_diagonal, kernel), gradient

    dtype = e_blocks.dtype
    size = n_blocks * rows
    start = (jnp.zeros((size, size), dtype), [jnp.zeros(n, dtype) for n in sizes])
    return jax.lax.fori_loop(0, n_blocks, row_of_blocks, start)


def sr_direction_chunked(
    log_amplitude: LogAmplitude,
    params: Any,
    configs: jax.Array,
    local_energies: jax.Array,
    diag_shift: jax.Array,
    chunk_size: int,
    mode: str = "auto",
    weights: jax.Array | None = None,
    constrain: Callable[[jax.Array], jax.Array] | None = None,
    block_multiple: int = 1,
    momentum: jax.Array | None = None,
    previous: jax.Array | None = None,
) -> SRSolution:
    """:func:`sr_direction` without the (M, 2, P) Jacobian: Jacobian blocks of ``chunk_size``
    samples, recomputed where needed, inside ``jit``-able loops (no host synchronisation).

    The M samples are split into n = ceil(M / chunk_size) blocks of c = ceil(M / n) samples
    (rounded up to a multiple of ``block_multiple``; padding, if any, repeats the first sample
    with weight 0). With X_i the centred, scaled rows
    of block i (2c x P, as in :func:`sr_direction`):

    1. the exact weighted mean Jacobian, by one chunked vector-Jacobian product with the weights
       as cotangents (two per sample, Re and Im);
    2. sample space: the kernel K = X X^T block by block, the upper triangle only: X_i once per
       row of blocks and X_j again for every j > i (n (n + 1) / 2 block Jacobians in all), and
       2 X^T e from the X_i; then y = (K + lambda)^-1 2e and the direction X^T y by one more
       chunked vector-Jacobian product (cotangent sqrt(w) y, less the mean's share).
       Parameter space: S = sum_i X_i^T X_i and 2 X^T e, one pass over the blocks.
    3. SPRING (``momentum`` and ``previous`` given): in sample space X phi_prev by one more
       chunked pass, forward mode (:func:`suite.engine.spring.jacobian_times_previous`); in
       parameter space nothing more.

    Cost, in Jacobians of one sample (each two reverse passes of the network): sample space
    ~ M (n + 1) / 2 for the kernel plus ~ 1.5 M for the two vector-Jacobian passes, against M for
    the dense solver; the kernel's products, (2M)^2 P (1 + 1/n) multiply-adds, are those of the
    dense X X^T. Parameter space: ~ 2 M. Memory: the (2M)^2 kernel (or P^2 metric) and its
    factorisation, about two (c, 2, P) blocks (X_i and the block being built, kept per parameter
    leaf so that no concatenated copy is made) and the network's activations for c samples,
    never O(M P). Building K from Jacobian-vector products instead (K X_i^T = X (X_i^T), one
    forward pass with 2c tangents through all M samples per block) would cost ~ 2M^2 network
    passes with tangents, about 2c times more than recomputing blocks.

    Args:
        log_amplitude: ``(params, configs (B, N)) -> (B,)`` complex log psi.
        params: the real parameters, any pytree (P numbers in all).
        configs: (M, N) the samples.
        local_energies: (M,) complex local energies.
        diag_shift: the diagonal shift lambda (scalar, may be traced).
        chunk_size: samples per Jacobian block (at least 1; :func:`solver_chunk_size`).
        mode: ``sample``, ``parameter`` or ``auto`` (:func:`choose_mode`).
        weights: (M,) sample probabilities summing to 1; ``None`` for 1/M each.
        constrain: applied to every block of samples (c, N) inside the loops; :class:`VMC`
            passes a sharding constraint, so that with samples split over devices each device
            computes its rows of every block (``None``: nothing).
        block_multiple: c is a multiple of this (the number of devices sharing the samples).
        momentum: SPRING's mu (scalar, may be traced); ``None``: plain SR.
        previous: (P,) phi_prev in ``ravel_pytree(params)`` order (``None``: plain SR).

    Returns:
        :class:`SRSolution`, equal to :func:`sr_direction`'s up to rounding; vectors in the
        order of ``jax.flatten_util.ravel_pytree(params)``.
    """
    n_samples, n_sites = configs.shape
    sizes = [leaf.size for leaf in _leaves(params)]
    n_parameters = sum(sizes)
    dtype = jnp.result_type(*_leaves(params))
    spring = momentum is not None and previous is not None
    if weights is None:
        weights = jnp.full(n_samples, 1.0 / n_samples, dtype=dtype)
    n_blocks = -(-n_samples // max(int(chunk_size), 1))
    if n_blocks == 1:  # one block is the whole Jacobian: nothing to save
        jacobian = _flat(sample_jacobian(log_amplitude, params, configs), 2)  # (M, 2, P)
        return sr_direction(jacobian, local_energies, diag_shift, mode, weights, momentum,
                            previous)
    chunk = block_multiple * -(-n_samples // (n_blocks * block_multiple))
    constrain = constrain or _unchanged
    padding = n_blocks * chunk - n_samples

    def padded(x, filler):
        return jnp.concatenate([x, jnp.broadcast_to(filler, (padding, *x.shape[1:]))])

    weights = weights.astype(dtype)
    de = (local_energies - jnp.sum(weights * local_energies)) * jnp.sqrt(weights)
    e = padded(jnp.stack([jnp.real(de), jnp.imag(de)], axis=-1).astype(dtype),
               jnp.zeros((), dtype))  # (M + padding, 2): rows ordered (sample, Re/Im)
    e_blocks = e.reshape(n_blocks, 2 * chunk)
    blocks = padded(configs, configs[:1]).reshape(n_blocks, chunk, n_sites)
    weights = padded(weights, jnp.zeros((), dtype))
    scale = jnp.sqrt(weights).reshape(n_blocks, chunk)
    per_component = jnp.eye(2, dtype=dtype)[None, :, None, :]  # cotangent k picks Re or Im
    mean = _summed_vjp(log_amplitude, params, blocks,  # leaves (2, size)
                       weights.reshape(n_blocks, 1, chunk, 1) * per_component, constrain)

    def centred_block(i):
        jacobian = _leaves(sample_jacobian(log_amplitude, params, constrain(blocks[i])))
        return [((leaf.reshape(chunk, 2, -1) - m) * scale[i][:, None, None]).reshape(
            2 * chunk, -1) for leaf, m in zip(jacobian, mean, strict=True)]

    if choose_mode(mode, n_samples, n_parameters) == "parameter":
        def add_block(carry, i):
            x_i = jnp.concatenate(centred_block(i), axis=1)
            return (carry[0] + x_i.T @ x_i, carry[1] + x_i.T @ e_blocks[i]), None

        start = (jnp.zeros((n_parameters, n_parameters), dtype), jnp.zeros(n_parameters, dtype))
        (metric, gradient), _ = jax.lax.scan(add_block, start, jnp.arange(n_blocks))
        metric = metric + diag_shift * jnp.eye(n_parameters, dtype=dtype)
        rhs = 2.0 * gradient + diag_shift * momentum * previous if spring else 2.0 * gradient
        direction, failed = solve_positive_definite(metric, rhs)
        return SRSolution(direction, 2.0 * gradient, failed)

    kernel, gradient = _sample_kernel(centred_block, n_blocks, 2 * chunk, e_blocks, sizes)
    size = 2 * n_samples
    kernel = kernel[:size, :size] + diag_shift * jnp.eye(size, dtype=dtype)
    rhs = 2.0 * e.ravel()[:size]
    if spring:
        rhs = rhs - momentum * jacobian_times_previous(
            log_amplitude, params, blocks, previous, mean, scale, constrain)[:size]
    y, failed = solve_positive_definite(kernel, rhs)
    cotangent = padded(y.reshape(n_samples, 2), jnp.zeros((), dtype)) * jnp.sqrt(weights)[:, None]
    raw = _summed_vjp(log_amplitude, params, blocks, cotangent.reshape(n_blocks, 1, chunk, 2),
                      constrain)
    # X^T y = J^T (sqrt(w) y) - mean^T sum_s sqrt(w_s) y_s
    direction = jnp.concatenate(raw, axis=1)[0] - jnp.sum(cotangent, axis=0) @ jnp.concatenate(
        mean, axis=1)
    if spring:
        direction = direction + momentum * previous
    return SRSolution(direction, 2.0 * jnp.concatenate(gradient), failed)


def _flat(leaves_tree: Any, leading: int) -> jax.Array:
    """Concatenate the leaves of a pytree along their trailing (parameter) axes."""
    leaves = _leaves(leaves_tree)
    batch = leaves[0].shape[:leading]
    return jnp.concatenate([leaf.reshape(*batch, -1) for leaf in leaves], axis=-1)
