"""The engine's half of a kind: the function that turns it into TensorFlow, found by the kind's name.

The catalog (`core.spec.kinds`) declares what a kind is; each engine module
registers one builder per declared kind here (`core.spec.per_kind`), as the code
generator registers an emitter (`core.outputs.codegen`).
"""
from __future__ import annotations

from typing import Callable, Optional

from core.spec.catalog import Registry
from core.spec.per_kind import PerKind


class Builders(PerKind):
    role = "builder"
    from_script_refusal = "Pipescope times it, and cannot build it"

    def __init__(self, catalog: Registry):
        super().__init__(catalog)
        self._failure_details: dict[str, Callable] = {}

    def builds(self, name: str, failure_detail: Optional[Callable] = None):
        """Decorator: the builder of the declared kind `name`; `failure_detail(params, spec)` may explain
        a failure of that kind in the run's error message."""
        register = self.register(name)

        def add(build: Callable) -> Callable:
            register(build)
            if failure_detail is not None:
                self._failure_details[name] = failure_detail
            return build

        return add

    def build_for(self, name: str, path: str) -> Callable:
        return self.for_kind(name, path)

    def failure_detail(self, name: str) -> Optional[Callable]:
        return self._failure_details.get(name)
