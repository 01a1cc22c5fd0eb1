"""Placeholder: filled in by the Bell-engine work (issue 9)."""


class LocalTest:
    pass


class BellInequality:
    pass


def local_visibility(eff, settings):
    raise NotImplementedError
