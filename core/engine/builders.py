"""The engine's half of a kind: the function that turns it into TensorFlow, found by the kind's name.

The catalog (`core.spec.kinds`) declares what a kind is; each engine module
registers one builder per declared kind here. A builder for an undeclared kind
is an error at import time, and a test checks that every kind has its builder.
"""
from __future__ import annotations

from typing import Callable, Optional

from core.spec.catalog import Registry
from core.spec.params import SpecError


class Builders:
    def __init__(self, catalog: Registry):
        self.catalog = catalog
        self._builders: dict[str, Callable] = {}
        self._failure_details: dict[str, Callable] = {}

    def builds(self, name: str, failure_detail: Optional[Callable] = None):
        """Decorator: the builder of the declared kind `name`; `failure_detail(params, spec)` may explain
        a failure of that kind in the run's error message."""
        if name not in self.catalog:
            raise ValueError(f"a builder for {self.catalog.category} kind '{name}', which the catalog does not declare")

        def register(build: Callable) -> Callable:
            if name in self._builders:
                raise ValueError(f"{self.catalog.category} kind '{name}' has two builders")
            self._builders[name] = build
            if failure_detail is not None:
                self._failure_details[name] = failure_detail
            return build

        return register

    def build_for(self, name: str, path: str) -> Callable:
        kind = self.catalog.get(name, path)  # an unknown kind names its path
        if kind.from_script:
            raise SpecError(f"{path}: kind '{name}' is a watched script's own code: Pipescope times it, "
                            "and cannot build it")
        return self._builders[name]

    def failure_detail(self, name: str) -> Optional[Callable]:
        return self._failure_details.get(name)

    def names(self) -> list[str]:
        return list(self._builders)
