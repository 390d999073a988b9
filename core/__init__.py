"""Pipescope's engine and analyses. Imports no Qt, ever."""
