"""The Shastry-Sutherland model and the exact Factored-attention state of Rende & Viteritti (2025).

H = J sum_<ij> S_i.S_j + J' sum_dimers S_i.S_j on a periodic square lattice (S = sigma/2, sites
row-major ``x * Ly + y`` as in :mod:`suite.engine.lattice`). The dimers are diagonal bonds on
alternate plaquettes, neighbouring dimers orthogonal (Shastry & Sutherland 1981; figure 5 of the
paper). Cut the lattice into 2 x 2 patches, patch (R, C) holding sites (2R + a, 2C + b); its
spins, flattened row-major as in :func:`suite.engine.models.vit.to_patches`, are
sigma_{i,1..4} = (2R, 2C), (2R, 2C+1), (2R+1, 2C), (2R+1, 2C+1). The dimers are

* inside every patch: (2R+1, 2C) - (2R, 2C+1), spins sigma_{i,3} and sigma_{i,2} (a (1, -1) diagonal);
* between patches: (2R+1, 2C+1) - (2R+2, 2C+2), spin sigma_{i,4} of patch i and spin
  sigma_{S(i),1} of the patch S(i) one step down and right (a (1, 1) diagonal),

exactly the pairs that eqs. (16)-(17) of the paper multiply together. The pattern repeats every
two sites, so any even L >= 4 carries it (see :func:`dimer_bonds`).

The product of singlets on the dimers is an eigenstate for every J, with energy -3/4 J' per dimer
(-3/8 J' per site): the exchange between two dimers couples each spin of one to both spins of the
other, and S_a + S_b annihilates a singlet. It is the ground state for J/J' small enough: about
0.675 in the thermodynamic limit, below 0.6665 on the 4 x 4 torus (exact diagonalisation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from suite.engine.hamiltonian import J1J2Hamiltonian
from suite.engine.lattice import SquareLattice
from suite.engine.models.vit import to_patches
from suite.errors import ConfigError

PATCH = 2
"""The paper's linear patch size b (section 4.3): d = b^2 = 4 spins per token."""

COS_ZERO = 1e-12
"""|cos x| below this counts as an exact zero in :func:`log_cos`: float64 cannot represent pi/2,
so cos(pi/2 + k pi) evaluates to about 1e-16, not 0 (the construction's arguments are exact
multiples of pi/4 up to a few ulp, so its non-zero cosines are +-1 to 1e-15)."""


def _check_even(Lx: int, Ly: int) -> None:
    for size in (Lx, Ly):
        if size % 2 or size < 4:
            raise ConfigError(
                "L", f"the Shastry-Sutherland dimer pattern repeats every 2 sites, so L must be "
                     f"even and >= 4 (got {Lx} x {Ly}); use e.g. L = 4, 6 or 8"
            )


def dimer_bonds(lattice: SquareLattice) -> np.ndarray:
    """The N/2 Shastry-Sutherland dimers, shape (N/2, 2), each site in exactly one.

    For every 2 x 2 cell (2R, 2C): first the (1, -1) dimer (2R+1, 2C) - (2R, 2C+1), then the
    (1, 1) dimer (2R+1, 2C+1) - (2R+2, 2C+2) (periodic). The first site of a pair is the one
    whose spin up gives the singlet the sign + in :func:`dimer_singlet_log_amplitudes`; the
    order follows the signs of the paper's construction (:func:`paper_weights`).

    Raises:
        ConfigError: ``L``, if Lx or Ly is odd (the pattern has period 2).
    """
    _check_even(lattice.Lx, lattice.Ly)
    R, C = np.meshgrid(np.arange(lattice.Lx // 2), np.arange(lattice.Ly // 2), indexing="ij")
    R, C = 2 * R.ravel(), 2 * C.ravel()
    inside = np.stack([lattice.site(R + 1, C), lattice.site(R, C + 1)], axis=1)
    between = np.stack([lattice.site(R + 1, C + 1), lattice.site(R + 2, C + 2)], axis=1)
    return np.stack([inside, between], axis=1).reshape(-1, 2).astype(np.int32)


@dataclass(frozen=True)
class ShastrySutherlandHamiltonian:
    """Bonds and couplings of the Shastry-Sutherland model on a periodic square lattice.

    H = J sum_<ij> S_i.S_j (the 2N nearest-neighbour bonds) + J_dimer sum_dimers S_i.S_j (the
    N/2 bonds of :func:`dimer_bonds`). It has the interface of
    :class:`~suite.engine.hamiltonian.J1J2Hamiltonian` (``n_sites``, ``bonds``, ``couplings``,
    ``samples_per_chunk``, ``local_energies``), so :mod:`suite.engine.exact` and the VMC take it
    unchanged. The default J / J_dimer = 0.5 lies in the dimer-singlet phase.

    Raises:
        ConfigError: ``L``, if the lattice has an odd side.
    """

    lattice: SquareLattice
    J: float = 1.0
    J_dimer: float = 2.0

    def __post_init__(self) -> None:
        _check_even(self.lattice.Lx, self.lattice.Ly)

    @property
    def n_sites(self) -> int:
        return self.lattice.n_sites

    def _bond_groups(self) -> list[tuple[np.ndarray, float]]:
        """(bonds, coupling) for each kind of bond with a non-zero coupling."""
        groups = [(self.lattice.nearest_neighbour_bonds(), self.J),
                  (dimer_bonds(self.lattice), self.J_dimer)]
        return [(bonds, coupling) for bonds, coupling in groups if coupling != 0]

    # J1J2Hamiltonian's bond bookkeeping and vectorised local energies read nothing but
    # ``_bond_groups`` (through ``bonds`` and ``couplings``) and ``n_sites``: share them, not a copy.
    # (Borrowed rather than inherited, so that a Shastry-Sutherland model is never taken for a
    # J1-J2 one with meaningless J1 and J2 fields.)
    bonds = J1J2Hamiltonian.bonds
    couplings = J1J2Hamiltonian.couplings
    samples_per_chunk = J1J2Hamiltonian.samples_per_chunk
    local_energies = J1J2Hamiltonian.local_energies


def dimer_singlet_log_amplitudes(configs: jax.Array | np.ndarray, dimers: np.ndarray) -> jax.Array:
    """log of prod_dimers (|up down> - |down up>)/sqrt(2) for configurations (B, N) of +-1.

    A dimer (i, j) contributes log(1/sqrt 2) if s_i = +1 = -s_j, log(1/sqrt 2) + i pi if
    s_i = -1 = -s_j, and 0 amplitude if s_i = s_j. Zero amplitudes are returned as
    -inf + 0j (exactly; ``exp`` maps them to 0, no NaN is produced); the imaginary part is
    0 or pi.

    Args:
        configs: spin configurations, shape (B, N), entries +-1.
        dimers: the pairs, shape (N/2, 2), e.g. :func:`dimer_bonds`.

    Returns:
        complex128 array of shape (B,).
    """
    configs = jnp.asarray(configs)
    s_i, s_j = configs[:, dimers[:, 0]], configs[:, dimers[:, 1]]
    zero = jnp.any(s_i == s_j, axis=-1)
    real = jnp.where(zero, -jnp.inf, -0.5 * math.log(2.0) * dimers.shape[0])
    flipped = jnp.sum(s_i < 0, axis=-1)
    imag = jnp.where(zero, 0.0, math.pi * (flipped % 2))
    return jax.lax.complex(real.astype(jnp.float64), imag.astype(jnp.float64))


def log_cos(x: jax.Array) -> jax.Array:
    """The paper's nonlinearity F = logcos, complex: log|cos x| + i pi [cos x < 0].

    Where |cos x| < :data:`COS_ZERO` the cosine is taken as exactly 0 and the result is
    -inf + 0j (so that the construction's zero amplitudes are exact zeros, as in eq. 17).
    """
    cos = jnp.cos(x)
    zero = jnp.abs(cos) < COS_ZERO
    real = jnp.where(zero, -jnp.inf, jnp.log(jnp.where(zero, 1.0, jnp.abs(cos))))
    imag = jnp.where(zero | (cos > 0), 0.0, math.pi)
    return jax.lax.complex(real, imag)


def partner_patch(i: int, L: int) -> int:
    """The patch S(i) of eq. (10), patches numbered i = 1..n row-major (n = (L/b)^2).

    S(i) = (i + 1) % n if i % (L/b) = 0, else (i + L/b) % n + 1: with the paper's 1-based
    numbering this is the patch one row down and one column right (periodic). (Read with 0-based
    numbering the same formula is wrong, e.g. it maps the last patch of a row to the patch
    directly below the next one.)
    """
    side = L // PATCH
    n = side * side
    return (i + 1) % n if i % side == 0 else (i + side) % n + 1


class FactoredAttentionWeights(NamedTuple):
    """The weights of the paper's one-layer, h-head Factored-attention network (section 4.3).

    Attributes:
        values: the value matrices V^(mu), shape (h, d/h, d) (eq. 8).
        attention: the attention matrices alpha^(mu)_ij, shape (h, n, n) (eq. 10).
        mixing: W, shape (d, d), applied to the concatenated heads (eq. 12).
        bias: c, shape (d,), added before F (eq. 14).
    """

    values: np.ndarray
    attention: np.ndarray
    mixing: np.ndarray
    bias: np.ndarray


def paper_weights(L: int) -> FactoredAttentionWeights:
    """The weights of section 4.3 for an L x L lattice (b = 2, d = 4, h = 2).

    V^(1) = [[0, 0, 0, pi/4], [0, 3pi/4, pi/4, 0]], V^(2) = [[3pi/4, 0, 0, 0], [0, 0, 0, 0]]
    (eq. 8 with V11 = V23 = pi/4, V14 = V22 = 3pi/4; the subscripts of V11 and V14 are labels,
    eq. 9 fixes the columns), alpha^(1) = identity, alpha^(2)_ij = delta_{j,S(i)}, W of eq. 12,
    and c = pi/2 on the two components that carry a signal, 0 on the other two.

    Two corrections to the text, both needed and both minimal:

    * **attention** (eq. 10 reads alpha^(2)_ij = delta_{i,S(i)}): S(i) != i, so taken literally
      that matrix is zero, head 2 contributes nothing and the inter-patch dimers are lost
      (their factor becomes cos(pi/2 + pi/4 sigma_{i,4}) = -+1/sqrt 2, non-zero for aligned
      spins too). Eq. (11), A^(2)_i = v^(2)_{S(i)}, needs
      alpha^(2)_ij = delta_{j,S(i)}, used here. It depends only on the displacement between
      patches i and j, so it is a genuine Factored-attention map p_{i-j}.
    * **bias** (eq. 14 applies F(A_i + c) to the whole d = 4 vector but writes 0 for components
      3 and 4): with a scalar c = pi/2 those components give logcos(pi/2) = log 0, so every
      amplitude vanishes. The bias is therefore c = (pi/2, pi/2, 0, 0): F(0) = logcos(0) = 0
      reproduces the zeros of eq. (14), and the final sum of eq. (16) is unchanged.

    Eq. (17) itself is a misprint that the construction does not use: with pi instead of pi/4
    (cos(pi/2 + pi (sigma_{i,4} + 3 sigma_{S(i),1}))) every factor is cos(pi/2 + even * pi) = 0.
    Eq. (16) with the weights above gives cos(pi/2 + pi/4 (sigma_{i,4} + 3 sigma_{S(i),1})) and
    cos(pi/2 + pi/4 (3 sigma_{i,2} + sigma_{i,3})), each +-1 on an anti-aligned pair and 0 on an
    aligned one: a singlet, with sign + when sigma_{i,4} (resp. sigma_{i,3}) is up.

    Raises:
        ConfigError: ``L``, if L is odd or < 4.
    """
    _check_even(L, L)
    side = L // PATCH
    n = side * side
    quarter = math.pi / 4
    values = np.zeros((2, 2, 4))
    values[0, 0, 3] = quarter          # V11^(1) sigma_{i,4}
    values[0, 1, 1] = 3 * quarter      # V22^(1) sigma_{i,2}
    values[0, 1, 2] = quarter          # V23^(1) sigma_{i,3}
    values[1, 0, 0] = 3 * quarter      # V14^(2) sigma_{i,1}
    attention = np.zeros((2, n, n))
    attention[0] = np.eye(n)
    for i in range(1, n + 1):          # CORRECTION: delta_{j,S(i)}, not delta_{i,S(i)}
        attention[1, i - 1, partner_patch(i, L) - 1] = 1.0
    mixing = np.array([[1.0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]])
    bias = np.array([2 * quarter, 2 * quarter, 0.0, 0.0])  # CORRECTION: c only where A_i can be non-zero
    return FactoredAttentionWeights(values, attention, mixing, bias)


def factored_attention_log_amplitudes(
    configs: jax.Array | np.ndarray, weights: FactoredAttentionWeights, L: int
) -> jax.Array:
    """The one-layer Factored-attention network of section 4.3 (eqs. 9-16).

    Identity embedding of b x b patches (x_i = (sigma_{i,1}, ..., sigma_{i,4})), per-head values
    v^(mu)_j = V^(mu) x_j, input-independent attention A^(mu)_i = sum_j alpha^(mu)_ij v^(mu)_j,
    heads concatenated and mixed by W, then F = :func:`log_cos` of A_i + c, summed over tokens
    and components. No layer norm, no skip connection, no MLP.

    Args:
        configs: spin configurations, shape (B, L*L), entries +-1.
        weights: e.g. :func:`paper_weights`.
        L: linear lattice size.

    Returns:
        complex128 log-amplitudes, shape (B,); exact zeros are -inf + 0j.
    """
    x = to_patches(jnp.asarray(configs, jnp.float64), L, PATCH)          # (B, n, d)
    values = jnp.einsum("hcd,bjd->bhjc", jnp.asarray(weights.values), x)  # (B, h, n, d/h)
    heads = jnp.einsum("hij,bhjc->bihc", jnp.asarray(weights.attention), values)
    concatenated = heads.reshape(*heads.shape[:2], -1)                   # (B, n, d)
    mixed = concatenated @ jnp.asarray(weights.mixing).T
    log_psi = jnp.sum(log_cos(mixed + jnp.asarray(weights.bias)), axis=(-2, -1))
    return jnp.where(jnp.isneginf(log_psi.real), -jnp.inf + 0j, log_psi)  # a zero has no phase


def paper_construction_log_amplitudes(configs: jax.Array | np.ndarray, L: int) -> jax.Array:
    """The paper's exact Factored-attention representation of the Shastry-Sutherland dimer state.

    :func:`factored_attention_log_amplitudes` with :func:`paper_weights` (see there for the two
    corrections to the text). It equals :func:`dimer_singlet_log_amplitudes` with
    :func:`dimer_bonds` up to the global factor 2^(N/4) (the N/2 normalisations 1/sqrt 2 that the
    network leaves out), and is -inf + 0j exactly where the singlet product vanishes.

    Args:
        configs: spin configurations, shape (B, L*L), entries +-1.
        L: linear lattice size, even and >= 4.

    Returns:
        complex128 log-amplitudes, shape (B,).
    """
    return factored_attention_log_amplitudes(configs, paper_weights(L), L)
