"""Which function computes an observable for which state class: one table, filled by the backend modules.

Each observables backend module (:mod:`.dense`, :mod:`.mps`, :mod:`.peps`)
ends with a :func:`register_observables` call naming its state class and its
implementations; :mod:`.api` registers the mixture state (the weighted
average of its components). :mod:`.api` validates the input and then calls
:func:`implementation`, which looks the state's class up along its MRO (as
``functools.singledispatch`` does). A new state backend adds one module and
one registration here, nothing in :mod:`.api`.

Operations (each takes the state first; sites and regions are lattice indices):

``correlation_tensor(state, regions)``, ``pair_correlations(state)``,
``reduced_state(state, sites)``; optional: ``reduced_states(state, groups)``
(default: one ``reduced_state`` per group) and ``mbody_tensor(state,
regions, M)`` (default: the average of one reduced state per site tuple,
size-limited).
"""

from __future__ import annotations

import importlib

__all__ = ["OPERATIONS", "REQUIRED", "register_observables", "unregister_observables", "implementation",
           "registered_classes"]

OPERATIONS = ("correlation_tensor", "pair_correlations", "reduced_state", "reduced_states", "mbody_tensor")
REQUIRED = ("correlation_tensor", "pair_correlations", "reduced_state")
#: Modules whose import registers the built-in implementations.
_BUILTIN_MODULES = ("macrobell.observables.dense", "macrobell.observables.mps", "macrobell.observables.peps")

_TABLE: dict[type, dict] = {}
_loaded = False


def _load_builtins() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for mod in _BUILTIN_MODULES:
            importlib.import_module(mod)


def register_observables(state_class: type, **implementations) -> None:
    """Register the observables of ``state_class`` (keyword: operation name -> function)."""
    if not isinstance(state_class, type):
        raise ValueError(f"register_observables: state_class must be a class, got {state_class!r}")
    bad = sorted(set(implementations) - set(OPERATIONS))
    if bad:
        raise ValueError(f"register_observables: unknown operation(s) {bad}; allowed: {list(OPERATIONS)}")
    missing = [op for op in REQUIRED if op not in implementations]
    if missing:
        raise ValueError(f"register_observables: {state_class.__name__} lacks the required {missing}")
    _TABLE[state_class] = dict(implementations)


def unregister_observables(state_class: type) -> None:
    """Remove the observables of ``state_class`` (a ``ValueError`` if none are registered)."""
    _load_builtins()
    if _TABLE.pop(state_class, None) is None:
        raise ValueError(f"unregister_observables: nothing registered for {state_class.__name__}")


def registered_classes() -> tuple:
    _load_builtins()
    return tuple(_TABLE)


def implementation(state, operation: str):
    """The function registered for ``operation`` of the nearest class in ``type(state).__mro__``.

    ``None`` when that class registered no such (optional) operation or no class matches.
    """
    _load_builtins()
    for cls in type(state).__mro__:
        if cls in _TABLE:
            return _TABLE[cls].get(operation)
    return None
