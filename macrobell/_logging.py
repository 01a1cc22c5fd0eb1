"""Logging of macrobell: one logger per layer, quiet by default, a live line for the CLI.

Every module logs to ``logging.getLogger(__name__)``, so its records go to the
logger of its layer: ``"macrobell.tn"`` (solvers: one INFO record per DMRG
sweep, purification step or PEPS stage), ``"macrobell.data"`` (sweeps:
points done, ETA, warnings), ``"macrobell.observables"``,
``"macrobell.lattice"``. The library attaches only a
:class:`logging.NullHandler` to ``"macrobell"``: nothing is printed unless
the application configures logging (the standard library's rule for
libraries). The solvers' records carry their numbers as attributes
(``sweep``, ``energy``, ``max_bond``, ``beta``) besides the message, so a
test or a GUI reads them without parsing text.

:func:`cli_logging` is what the ``macrobell`` command uses: a
:class:`LiveLineHandler` on stderr that rewrites one status line per
solver on a terminal (``\\r``), or prints one line per record with
``--verbose``; warnings always get a line of their own.
"""

from __future__ import annotations

import contextlib
import logging
import sys

__all__ = ["LAYER_LOGGERS", "LiveLineHandler", "cli_logging", "install_null_handler"]

#: The loggers of the package and of its layers (records of module ``macrobell.tn.dmrg`` go to ``macrobell.tn``).
LAYER_LOGGERS = ("macrobell", "macrobell.lattice", "macrobell.tn", "macrobell.observables", "macrobell.data")


def install_null_handler() -> logging.Logger:
    """Attach one :class:`logging.NullHandler` to the ``"macrobell"`` logger (idempotent); returns it."""
    root = logging.getLogger("macrobell")
    if not any(isinstance(h, logging.NullHandler) for h in root.handlers):
        root.addHandler(logging.NullHandler())
    return root


install_null_handler()


def _short(name: str) -> str:
    """``macrobell.tn.dmrg`` -> ``dmrg``: the solver that speaks."""
    return name.rsplit(".", 1)[-1]


class LiveLineHandler(logging.Handler):
    """Show solver progress on a stream: a live status line on a terminal, plain lines otherwise.

    Parameters
    ----------
    stream : file-like
        Where to write (default ``sys.stderr``).
    live : bool, optional
        Rewrite one line in place (``\\r``, clear to end of line). Default:
        whether ``stream`` is a terminal.

    Records of level WARNING and above always end their line, so a warning
    stays visible under the live line that follows it.
    """

    def __init__(self, stream=None, live: bool | None = None, level=logging.NOTSET):
        super().__init__(level)
        self.stream = sys.stderr if stream is None else stream
        self.live = bool(getattr(self.stream, "isatty", lambda: False)()) if live is None else bool(live)
        self._open = False  # a live line is on screen without its newline
        self.setFormatter(logging.Formatter("%(name)s: %(message)s"))

    def format(self, record) -> str:
        text = record.getMessage()
        who = _short(record.name)
        if record.levelno >= logging.WARNING:
            return f"macrobell: {record.levelname.lower()}: {who}: {text}"
        return f"{who}: {text}"

    def emit(self, record):
        try:
            line = self.format(record)
            if self.live and record.levelno < logging.WARNING:
                self.stream.write("\r\x1b[2K" + line)
                self._open = True
            else:
                if self._open:
                    self.stream.write("\r\x1b[2K")
                self.stream.write(line + "\n")
                self._open = False
            self.stream.flush()
        except Exception:  # noqa: BLE001 - logging must never break a computation
            self.handleError(record)

    def end_line(self):
        """Finish a live line (call before other output)."""
        if self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open = False


@contextlib.contextmanager
def cli_logging(verbose: bool = False, stream=None, quiet: bool = False):
    """Show macrobell's records on ``stream`` (stderr) while the block runs.

    INFO records (solver sweeps, sweep progress) are shown with ``verbose``
    or when ``stream`` is a terminal (as a live line); warnings always,
    unless ``quiet``. The handler and the logger level are restored on exit.
    """
    stream = sys.stderr if stream is None else stream
    tty = bool(getattr(stream, "isatty", lambda: False)())
    handler = LiveLineHandler(stream, live=tty and not verbose)
    level = logging.ERROR if quiet else (logging.INFO if (verbose or tty) else logging.WARNING)
    logger = logging.getLogger("macrobell")
    old_level = logger.level
    handler.setLevel(level)
    logger.addHandler(handler)
    logger.setLevel(min(level, old_level) if old_level else level)
    try:
        yield handler
    finally:
        handler.end_line()
        logger.removeHandler(handler)
        logger.setLevel(old_level)
