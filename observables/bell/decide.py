"""One call that runs the Bell engine on an effective state and says what it proves.

:func:`decide` runs the settings search for each requested number of
settings, the named inequalities that apply (I3322 for two parties with three
settings, the exact Żukowski–Brukner (WWZB) condition for K >= 3 parties)
and, for two qubits, the local-hidden-state certificate.  It returns

* ``hook`` -- the mapping :func:`macrobell.observables.criteria.criteria`
  takes as ``bell=``: only what is *proven* enters it (a violation found with
  its inequality and settings; a WWZB bound that holds for every setting; an
  LHS certificate);
* ``columns`` -- flat numbers for tables and HDF5 attributes;
* ``arrays`` -- the best inequality's coefficients and settings, for datasets.

What counts as a proof
----------------------
A violation is checkable by anyone: the inequality, its local bound (exact,
by enumeration of deterministic strategies) and the settings are stored.  A
*search* that finds no violation proves nothing, so a searched WWZB maximum
is reported (``wwzb_ratio``) but never grants a local level.  The level
``local-2-setting`` for K >= 3 is granted from ``wwzb_upper``, a rigorous
upper bound of the WWZB ratio over all settings: Żukowski & Brukner,
PRL 88, 210401 (2002), show that for settings in planes ``P_X`` the ratio is
at most ``sqrt(||(P_1 ⊗ … ⊗ P_K) T||²)`` (the full-correlation tensor
restricted to the planes); dropping every projector but one can only
increase the norm, and the largest ``||(P_X ⊗ 1) T||²`` over planes is the
sum of the two largest eigenvalues of the unfolding Gram matrix of party X
(Ky Fan), so ``wwzb_upper = sqrt(min_X λ1(G_X) + λ2(G_X)) ≤ sqrt(zb_upper)``.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .behaviour import _check_eff
from .lhs import lhs_certificate
from .named import i3322
from .search import search
from .wwzb import wwzb

__all__ = ["decide", "wwzb_upper_bound", "DEFAULT_SETTINGS", "DEFAULT_RESTARTS"]

#: Settings counts searched by default: two (the seed's claim 1) and three (its Section IV, I3322).
DEFAULT_SETTINGS = (2, 3)
#: Restarts of every search by default (each restart is a few LP solves).
DEFAULT_RESTARTS = 20


def wwzb_upper_bound(T: np.ndarray) -> float:
    """Rigorous upper bound of the WWZB ratio over all two-setting experiments (module docstring).

    ``T`` is the ``(4,)*K`` Pauli correlation tensor; only its full-correlation
    block ``T[1:, …, 1:]`` enters.
    """
    T = np.asarray(T, dtype=float)
    K = T.ndim
    C = T[(slice(1, None),) * K]
    best = np.inf
    for X in range(K):
        U = np.moveaxis(C, X, 0).reshape(3, -1)
        ev = np.linalg.eigvalsh(U @ U.T)  # ascending
        best = min(best, float(ev[-1] + ev[-2]))
    return float(np.sqrt(max(best, 0.0)))


def _settings_list(settings) -> list[int]:
    if isinstance(settings, (int, np.integer)) and not isinstance(settings, bool):
        settings = [int(settings)]
    try:
        out = [int(s) for s in settings]
    except (TypeError, ValueError):
        raise ValueError(f"decide: settings must be an int >= 2 or a list of them, got {settings!r}") from None
    if any(s < 2 or s != v for s, v in zip(out, settings)):
        raise ValueError(f"decide: every settings count must be an integer >= 2, got {list(settings)!r}")
    return sorted(set(out))


def _violation(name: str, count, value: float, bound: float, settings) -> dict:
    return {"inequality": name, "settings_count": count, "value": float(value), "local_bound": float(bound),
            "settings": [np.asarray(s, dtype=float).tolist() for s in settings]}


def decide(eff: Any, settings: Sequence[int] | int = DEFAULT_SETTINGS, *, restarts: int = DEFAULT_RESTARTS,
           seed: int = 0, lhs: bool = True, wwzb_restarts: int | None = None) -> dict:
    """Run the Bell engine on ``eff`` and collect what it proves.

    Parameters
    ----------
    eff : EffectiveState
        Qubit parties (M = 1), any K >= 2.
    settings : int or sequence of int
        Settings per party for :func:`.search` (each >= 2).
    restarts : int
        Restarts of each search and of the named-inequality seesaws.
    seed : int
        Seed of every random start (each search gets ``seed + S``).
    lhs : bool
        Also run :func:`.lhs_certificate` (two parties only).
    wwzb_restarts : int, optional
        Restarts of :func:`.wwzb` (K >= 3); default ``restarts``.

    Returns
    -------
    dict
        ``{"hook": ..., "columns": ..., "arrays": ...}`` (module docstring).
        Column names: ``bell_visibility_S{S}``, ``bell_violated_S{S}`` per
        settings count; ``i3322_value`` (K = 2, when 3 settings are searched);
        ``wwzb_ratio`` (searched maximum) and ``wwzb_upper`` (rigorous bound)
        for K >= 3; ``lhs_visibility``, ``lhs_local`` (K = 2, ``lhs``);
        ``bell_nonlocal_inequality`` (name of the violated inequality or "").
    """
    _check_eff(eff, "decide")
    if eff.M != 1:
        raise ValueError(f"decide: the Bell engine takes qubit parties (M = 1); this state has M = {eff.M}")
    counts = _settings_list(settings)
    if isinstance(restarts, bool) or not isinstance(restarts, (int, np.integer)) or restarts < 1:
        raise ValueError(f"decide: restarts must be an integer >= 1, got {restarts!r}")
    K = eff.K
    columns: dict[str, Any] = {}
    arrays: dict[str, np.ndarray] = {}
    found: list[tuple[float, dict, Any]] = []  # (ratio, violation, inequality coefficients)

    for S in counts:
        r = search(eff, settings=S, restarts=int(restarts), seed=int(seed) + S)
        columns[f"bell_visibility_S{S}"] = float(r.visibility)
        columns[f"bell_violated_S{S}"] = bool(r.violated)
        if r.violated and r.inequality is not None:
            found.append((r.value / r.local_bound,
                          _violation(f"LP dual, {S} settings", S, r.value, r.local_bound, r.settings),
                          np.asarray(r.inequality.coefficients, dtype=float)))

    if K == 2 and 3 in counts:
        v = i3322(eff, restarts=int(restarts), seed=int(seed))
        columns["i3322_value"] = float(v.value)
        if v.violated:
            found.append((v.value / v.local_bound, _violation("I3322", 3, v.value, v.local_bound, v.settings), None))

    hook: dict[str, Any] = {}
    if K >= 3:
        w = wwzb(eff, restarts=int(wwzb_restarts or restarts), seed=int(seed))
        upper = wwzb_upper_bound(eff.T)
        columns["wwzb_ratio"] = float(w.value)
        columns["wwzb_upper"] = upper
        if w.violated:
            found.append((w.value, _violation("WWZB", 2, w.value * 2**K, 2**K, w.settings), None))
        elif upper <= 1.0:
            hook["wwzb_ratio"] = upper  # a bound over all settings: a proof, not a search result

    if K == 2 and lhs:
        c = lhs_certificate(eff)
        columns["lhs_visibility"] = float(c.certified_visibility)
        columns["lhs_local"] = bool(c.local)
        if c.local:
            hook["lhs_local"] = True

    columns["bell_nonlocal_inequality"] = ""
    if found:
        ratio, best, coeffs = max(found, key=lambda f: f[0])
        hook["nonlocal"] = best
        columns["bell_nonlocal_inequality"] = best["inequality"]
        if coeffs is not None:
            arrays["bell_inequality"] = coeffs
        for X, s in enumerate(best["settings"]):
            arrays[f"bell_settings_{X}"] = np.asarray(s, dtype=float)
    return {"hook": hook, "columns": columns, "arrays": arrays}
