"""``macrobell list``: what exists, one line each, read from the code's own tables.

Lattices, models and partitions come from the factory tables
(:data:`~macrobell.lattice.LATTICE_KINDS`, :data:`~macrobell.lattice.MODEL_KINDS`,
:data:`~macrobell.lattice.PARTITION_KINDS`) with the first line of each
factory's docstring and its arguments; materials from
:data:`~macrobell.lattice.MATERIALS`; criteria are the keys of the dict
returned by :func:`macrobell.observables.criteria.criteria` with the
one-line meanings of :data:`CRITERIA_MEANINGS` (a test checks that this table
has exactly the keys ``criteria()`` returns, so it cannot drift).
"""

from __future__ import annotations

import inspect
import re

__all__ = ["LIST_TOPICS", "CRITERIA_MEANINGS", "listing", "first_doc_line", "factory_arguments"]

#: One-line meaning of every key of the criteria dict (conventions of
#: :func:`macrobell.observables.criteria.criteria`: Pauli correlations, K regions, M-body observables).
CRITERIA_MEANINGS = {
    "K": "number of regions of the partition",
    "M": "body order of the effective state (M qubits per region)",
    "chsh_max": "maximal CHSH value over projective settings, Horodecki criterion (K=2, M=1); > 2 is nonlocal",
    "zb_max": "Zukowski-Brukner sum, local-search lower bound for K >= 3, exact for K = 2 (M=1); <= 1 local",
    "zb_upper": "rigorous upper bound of the Zukowski-Brukner sum: sum of squared full correlations (M=1)",
    "werner_V": "visibility V of the Werner state with the same singlet fidelity (K=2, M=1)",
    "werner_distance": "||rho - rho_W(V)||_1, twice the trace distance to that Werner state (K=2, M=1)",
    "werner_certificates": "verified decompositions rho = (1-t) rho_W(V) + t sigma, sigma PPT, per Werner level",
    "ppt": "every region-vs-rest cut has a positive partial transpose (K=2, M=1: iff separable)",
    "entangled": "True: NPT across some cut; False: K=2, M=1 and PPT; None: unknown",
    "negativity": "largest negativity over the region-vs-rest cuts",
    "negativity_cuts": "negativity of each region-vs-rest cut (one per region)",
    "pt_min_eig": "smallest partial-transpose eigenvalue of each region-vs-rest cut",
    "concurrence": "Wootters concurrence of the two-qubit effective state (K=2, M=1)",
    "steering": "value of the unsteerability criterion named by steering_method (K=2, M=1)",
    "steering_method": "unsteerability criterion used: t-state (Jevtic et al.) or bowles (Bowles et al.)",
    "unsteerable": "certified unsteerable, hence local for all projective measurements (K=2, M=1)",
    "grothendieck_local": "sv_max <= 1/K_G(3): the correlations of all projective measurements are local",
    "sv_max": "largest singular value of the 3x3 correlation block (K=2, M=1)",
    "monogamy_bound": "singlet-monogamy bound (R+2)/(3R) on werner_V, R = the larger region size (K=2, M=1)",
    "monogamy_ok": "werner_V is within the monogamy bound (K=2, M=1)",
    "nonlocal": "the explicit Bell violation found (inequality, settings, value, local bound) or None",
    "wwzb_ratio": "exact WWZB ratio to the local bound from the Bell engine (K >= 3); <= 1 local",
    "lhs_local": "an LHS certificate from the Bell engine holds (None: not computed)",
    "no_violation_below_settings": "floor(N_X/M) + 1 per region: fewer settings on every region admit an LHV model",
    "min_settings_for_violation": "deprecated alias of no_violation_below_settings",
    "verdict": "strongest guarantee that holds, a level of the verdict table",
    "verdict_reason": "the criterion and numbers behind the verdict",
    "verdict_guarantee": "what the verdict proves: measurement class and settings count",
    "werner_bounds_used": "the Werner locality thresholds used, with their sources",
}


def first_doc_line(obj) -> str:
    """First line of ``obj``'s docstring, reST markup stripped ('' when it has none)."""
    doc = inspect.getdoc(obj) or ""
    line = doc.strip().splitlines()[0] if doc.strip() else ""
    line = re.sub(r":\w+:`~?([^`]*)`", r"\1", line)
    return line.replace("``", "")


def factory_arguments(func, skip: int) -> list[str]:
    """Keyword argument names of a factory after its first ``skip`` parameters."""
    params = list(inspect.signature(func).parameters.values())[skip:]
    return [p.name for p in params if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]


def _lattices():
    from macrobell.lattice import LATTICE_KINDS

    return [(k, f"{first_doc_line(f)} Arguments: {', '.join(factory_arguments(f, 0))}.")
            for k, f in LATTICE_KINDS.items()]


def _models():
    from macrobell.lattice import MODEL_KINDS

    return [(k, f"{first_doc_line(f)} Arguments: {', '.join(factory_arguments(f, 1))}.")
            for k, f in MODEL_KINDS.items()]


def _partitions():
    from macrobell.lattice import PARTITION_KINDS
    from macrobell.lattice.partitions import Partition

    out = []
    for k, f in PARTITION_KINDS.items():
        # The table's 'custom' entry is a thin wrapper of Partition.custom: describe that.
        doc = first_doc_line(f) or first_doc_line(getattr(Partition, k, None))
        args = [a for a in factory_arguments(f, 1) if a not in ("kw",)]
        out.append((k, doc + (f" Arguments: {', '.join(args)}." if args else "")))
    return out


def _materials():
    from macrobell.lattice import MATERIALS

    out = []
    for k, m in MATERIALS.items():
        couplings = ", ".join(f"{c} = {v:.6g} K" for c, v in m.couplings_K.items())
        g = "" if m.g_factor is None else f", g = {m.g_factor:g}"
        out.append((k, f"{m.formula}, {m.lattice} lattice, {couplings} (reference {m.reference_coupling}){g}"))
    return out


def _criteria():
    from macrobell.observables.verdict import VERDICTS

    rows = list(CRITERIA_MEANINGS.items())
    rows = [(k, v + (f" ({', '.join(VERDICTS)})" if k == "verdict" else "")) for k, v in rows]
    return rows


#: ``macrobell list TOPIC``: topic -> builder of (name, one-line description) rows.
LIST_TOPICS = {
    "lattices": _lattices,
    "models": _models,
    "partitions": _partitions,
    "materials": _materials,
    "criteria": _criteria,
}


def listing(topic: str) -> str:
    """The text of ``macrobell list TOPIC``: one ``name  description`` line per entry."""
    if topic not in LIST_TOPICS:
        raise ValueError(f"list: unknown topic {topic!r}; allowed: {list(LIST_TOPICS)}")
    rows = LIST_TOPICS[topic]()
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {' '.join(v.split())}" for k, v in rows)
