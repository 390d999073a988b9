"""Pipescope's desktop app: a thin Qt view over `core`."""
