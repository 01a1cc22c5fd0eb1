"""Material presets: real spin-1/2 magnets as spin models on macrobell lattices.

Each preset carries its lattice kind, its exchange constants in kelvin and
the literature reference of every value. :meth:`Material.model` builds the
:class:`~macrobell.lattice.SpinModel` on a lattice of your size with every
coupling in units of the preset's reference coupling ``J_ref`` (so energies
and temperatures of macrobell's backends are in units of ``J_ref``, k_B = 1);
:meth:`Material.temperature` converts kelvin to those units and
:meth:`Material.field` converts a magnetic field in tesla to the field ``h``
of the models.

Fields in tesla
---------------
The Zeeman term of a spin in a field ``B`` along z is ``−g μ_B B S^z``; with
macrobell's ``H = … − h Σ_i S^z_i`` and energies in units of ``J_ref``
(kelvin), ``h = g μ_B B / (k_B J_ref) = g · (μ_B/k_B) · B / J_ref[K]``, with
``μ_B/k_B = 0.67171381563 K/T`` (CODATA 2018). ``g`` is the preset's
g-factor for the field direction stated in its reference (the g tensor of
Cu²⁺ is anisotropic, g ≈ 2.05–2.3 [recalled]).

Conventions: ``H = Σ_bonds J_b S_i·S_j`` with ``S = σ/2`` and ``J > 0``
antiferromagnetic, the convention of every reference below (some papers
write ``2J`` or ``−2J``; the values here are converted to this form).

Presets
-------
``CuPzN``
    Copper pyrazine dinitrate Cu(C4H4N2)(NO3)2, a Heisenberg chain.
``BPCB``
    (C5H12N)2CuBr4 (bis(piperidinium) tetrabromocuprate), a two-leg
    Heisenberg ladder in the strong-rung limit.
``CFTD``
    Copper formate tetradeuterate Cu(DCOO)2·4D2O, a square-lattice
    Heisenberg antiferromagnet.
``Ca2CuO2Cl2``
    Calcium copper oxychloride, an undoped square-lattice cuprate (CuO2
    planes of the high-Tc parent compounds).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from .geometry import Lattice
from .models import Field, SpinModel, Term

__all__ = ["Material", "MATERIALS", "get_material", "MEV_IN_K", "MU_B_OVER_K_B"]

#: 1 meV / k_B in kelvin (CODATA: k_B = 8.617333262e-5 eV/K).
MEV_IN_K = 1.0 / 8.617333262e-2
#: Bohr magneton over Boltzmann's constant in K/T (CODATA 2018: μ_B = 9.2740100783e-24 J/T,
#: k_B = 1.380649e-23 J/K exactly).
MU_B_OVER_K_B = 0.67171381563


@dataclass(frozen=True)
class Material:
    """A material preset.

    Attributes
    ----------
    name : str
        Short name used in sweep files (``[model] material = "CuPzN"``).
    formula : str
    lattice : str
        The lattice kind it lives on (a key of ``LATTICE_KINDS``).
    couplings_K : dict
        Exchange constants in kelvin by name (``"J"``; ``"J_rung"``, ``"J_leg"``).
    reference_coupling : str
        The coupling that sets the unit of energy and temperature.
    references : dict
        Literature source of every value in ``couplings_K``.
    notes : str
    g_factor : float or None
        The g-factor used by :meth:`field` (None: no field in tesla for this preset).
    g_reference : str
        Source (or derivation) of ``g_factor``.
    """

    name: str
    formula: str
    lattice: str
    couplings_K: Mapping[str, float]
    reference_coupling: str
    references: Mapping[str, str]
    notes: str = ""
    _builder: str = field(default="heisenberg", repr=False)
    g_factor: float | None = None
    g_reference: str = ""

    @property
    def temperature_scale(self) -> float:
        """``J_ref`` in kelvin: T [units of J_ref] = T [K] / temperature_scale."""
        return float(self.couplings_K[self.reference_coupling])

    def temperature(self, T_kelvin) -> float:
        """Convert a temperature in kelvin to units of the reference coupling."""
        T = np.asarray(T_kelvin, dtype=float)
        if np.any(T < 0) or not np.all(np.isfinite(T)):
            raise ValueError(f"{self.name}: temperatures in kelvin must be finite and >= 0, got {T_kelvin!r}")
        out = T / self.temperature_scale
        return float(out) if out.ndim == 0 else out

    def field(self, B_tesla) -> float:
        """Convert a field in tesla to ``h`` in units of ``J_ref`` (module section "Fields in tesla").

        ``h = g · (μ_B/k_B) · B / J_ref[K]``, from the Zeeman term
        ``−g μ_B B S^z`` and the models' ``− h Σ S^z``.
        """
        if self.g_factor is None:
            with_g = sorted(k for k, m in MATERIALS.items() if m.g_factor is not None)
            raise ValueError(f"material {self.name!r} has no g-factor, so a field in tesla (h_tesla) cannot be "
                             f"converted; materials with a g-factor: {with_g}")
        B = np.asarray(B_tesla, dtype=float)
        if not np.all(np.isfinite(B)):
            raise ValueError(f"{self.name}: h_tesla must be finite, got {B_tesla!r}")
        out = self.g_factor * MU_B_OVER_K_B * B / self.temperature_scale
        return float(out) if out.ndim == 0 else out

    def couplings(self) -> dict:
        """Couplings in units of the reference coupling."""
        return {k: v / self.temperature_scale for k, v in self.couplings_K.items()}

    def model(self, lattice: Lattice, h: float = 0.0) -> SpinModel:
        """The Heisenberg model of this material on ``lattice`` (couplings in units of ``J_ref``).

        ``h`` is a uniform field ``− h Σ S^z`` in units of ``J_ref`` (from tesla: :meth:`field`).
        """
        if lattice.name != self.lattice:
            raise ValueError(f"material {self.name!r} lives on a {self.lattice!r} lattice, got {lattice.name!r}")
        c = self.couplings()
        if self._builder == "ladder":
            rung, leg = lattice.bond_group("nn", "rung"), lattice.bond_group("nn", "leg")
            terms = [Term(c["J_rung"], op, rung) for op in ("xx", "yy", "zz")]
            terms += [Term(c["J_leg"], op, leg) for op in ("xx", "yy", "zz")]
        else:
            nn = lattice.bond_array("nn")
            terms = [Term(c["J"], op, nn) for op in ("xx", "yy", "zz")]
        if isinstance(h, bool) or not isinstance(h, (int, float, np.integer, np.floating)) or not np.isfinite(h):
            raise ValueError(f"material {self.name!r}: h must be a finite real number, got {h!r}")
        params = {"material": self.name, **{k: float(v) for k, v in c.items()},
                  "J_ref_K": self.temperature_scale}
        fields = ()
        if h:
            params["h"] = float(h)
            fields = (Field(-float(h), "z", np.arange(lattice.n_sites)),)
        return SpinModel(lattice, tuple(terms), fields, self.name, params)


MATERIALS: dict = {
    "CuPzN": Material(
        name="CuPzN",
        formula="Cu(C4H4N2)(NO3)2",
        lattice="chain",
        couplings_K={"J": 10.7},
        reference_coupling="J",
        references={
            "J": "J/k_B = 10.7 K: P. R. Hammar et al., Phys. Rev. B 59, 1008 (1999); the value quoted by "
                 "O. Breunig et al., Sci. Adv. 3, eaao3773 (2017) and the 13C-NMR study (APS March Meeting "
                 "2013, G16.13) as 'J/k_B = 10.7 K', saturation field 14.6 T",
        },
        notes="One of the best realisations of the S = 1/2 Heisenberg chain; interchain coupling J'/J ~ 1e-2 "
              "is neglected.",
        g_factor=2.0 * 10.7 / (MU_B_OVER_K_B * 14.6),
        g_reference="g = 2.18, derived from the two cited values J/k_B = 10.7 K and saturation field B_c = 14.6 T "
                    "(13C-NMR study, APS March Meeting 2013, G16.13) with the exact saturation field of the "
                    "Heisenberg chain, g mu_B B_c = 2 J (one-magnon edge); ESR g-values of CuPzN are ~2.05-2.3 "
                    "depending on the field direction [recalled], so this g holds for that measurement's field "
                    "direction (not stated in that abstract)",
    ),
    "BPCB": Material(
        name="BPCB",
        formula="(C5H12N)2CuBr4",
        lattice="ladder",
        couplings_K={"J_rung": 13.3, "J_leg": 3.8},
        reference_coupling="J_rung",
        references={
            "J_rung": "J_perp = 13.3 K: B. C. Watson et al., Phys. Rev. Lett. 86, 5168 (2001), "
                      "arXiv:cond-mat/0011052 (high-field magnetisation)",
            "J_leg": "J_par = 3.8 K: B. C. Watson et al., Phys. Rev. Lett. 86, 5168 (2001), "
                     "arXiv:cond-mat/0011052. Later NMR/neutron fits give J_rung = 12.6 K, J_leg = 3.55 K "
                     "(M. Klanjsek et al., PRL 101, 137207 (2008)) [recalled]",
        },
        notes="Strong-rung two-leg ladder; a ~5% exchange anisotropy seen by ESR (Cizmar et al. 2010) is "
              "neglected. Rung bonds are the ladder's nearest-neighbour bonds at equal x.",
        _builder="ladder",
        g_factor=(13.3 + 2 * 3.8) / (MU_B_OVER_K_B * 14.6),
        g_reference="g = 2.13, derived from J_rung = 13.3 K, J_leg = 3.8 K and H_c2 = 14.6 T of the same paper "
                    "(B. C. Watson et al., PRL 86, 5168 (2001), arXiv:cond-mat/0011052) with the exact saturation "
                    "field of the two-leg ladder, g mu_B H_c2 = J_rung + 2 J_leg; the brief's g = 2.17 could not "
                    "be verified [recalled]",
    ),
    "CFTD": Material(
        name="CFTD",
        formula="Cu(DCOO)2·4D2O",
        lattice="square",
        couplings_K={"J": 6.3 * MEV_IN_K},
        reference_coupling="J",
        references={
            "J": "J = 6.3 ± 0.2 meV (= 73.1 K) from spin waves: S. J. Clarke, A. Harrison, T. E. Mason, "
                 "D. Visser, Solid State Commun. 112, 561 (1999)",
        },
        notes="Square-lattice S = 1/2 Heisenberg antiferromagnet (T_N = 16.5 K from weak interlayer coupling, "
              "neglected here).",
    ),
    "Ca2CuO2Cl2": Material(
        name="Ca2CuO2Cl2",
        formula="Ca2CuO2Cl2",
        lattice="square",
        couplings_K={"J": 135.0 * MEV_IN_K},
        reference_coupling="J",
        references={
            "J": "J = 135 ± 4 meV (= 1567 K), nearest-neighbour Heisenberg fit including quantum corrections, "
                 "from the Cu L3-edge RIXS spin-wave dispersion: B. W. Lebert et al., arXiv:1610.08383 "
                 "(Phys. Rev. B 95, 155110 (2017) [recalled]); with further-neighbour exchange the same data "
                 "give J = 141 meV",
        },
        notes="Undoped cuprate; the nearest-neighbour model neglects J', J'' and ring exchange (the zone-"
              "boundary dispersion is ~40 meV) and the interlayer coupling. Room temperature is T/J ≈ 0.19.",
    ),
}


def get_material(name: str) -> Material:
    """The preset called ``name``; a clear error listing the presets otherwise."""
    try:
        return MATERIALS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown material {name!r}; allowed: {sorted(MATERIALS)}") from None
