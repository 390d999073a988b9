"""One function per kind the catalog declares, found by the kind's name: the engine's builders, the code
generator's emitters.

Registering a function for a kind the catalog does not declare, or two for one kind, is an error at
import time; tests check that every kind a user can choose has its function in each registry.
"""
from __future__ import annotations

from typing import Callable

from core.spec.catalog import Registry
from core.spec.params import SpecError


class PerKind:
    role = "function"  # what each function is, for the messages: "builder", "emitter"

    def __init__(self, catalog: Registry):
        self.catalog = catalog
        self._functions: dict[str, Callable] = {}

    def register(self, name: str):
        """Decorator: the function of the declared kind `name`."""
        if name not in self.catalog:
            raise ValueError(f"a {self.role} for {self.catalog.category} kind '{name}', which the catalog does "
                             "not declare")

        def add(function: Callable) -> Callable:
            if name in self._functions:
                raise ValueError(f"{self.catalog.category} kind '{name}' has two {self.role}s")
            self._functions[name] = function
            return function

        return add

    def for_kind(self, name: str, path: str) -> Callable:
        kind = self.catalog.get(name, path)  # an unknown kind names its path
        if kind.from_script:
            raise SpecError(f"{path}: kind '{name}' is a watched script's own code: {self.from_script_refusal}")
        return self._functions[name]

    from_script_refusal = "Pipescope times it, and has nothing of its own for it"

    def names(self) -> list[str]:
        return list(self._functions)
