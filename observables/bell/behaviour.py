"""Placeholder: filled in by the Bell-engine work (issue 9)."""


def correlations(eff, settings):
    raise NotImplementedError


def correlators(eff, settings):
    raise NotImplementedError


def check_settings(eff, settings):
    raise NotImplementedError
