"""Kinds that only a pipeline imported from a watched script has (`watch`, issue 16): a source, a
transformation or a model Pipescope can show, time and name, but not build, because it is the user's
own code. Known transformations are imported as the catalog's own kinds; these hold the rest."""
from __future__ import annotations

from core.spec.catalog import Kind
from core.spec.kinds.feeders import FEEDERS
from core.spec.kinds.models import MODELS
from core.spec.kinds.sources import SOURCES
from core.spec.kinds.stages import STAGES
from core.spec.params import Param

FROM_SCRIPT = "from_script"


def _op_param(what: str) -> Param:
    return Param("op", "str", "", f"The tf.data {what} the script made, as tf.data names it.")


SOURCES.add(Kind(
    FROM_SCRIPT, "A source made by a watched script that Pipescope does not know how to rebuild.",
    (_op_param("dataset"),),
    label=lambda p: p["op"] or "the script's source",
    from_script=True,
))

STAGES.add(Kind(
    FROM_SCRIPT, "A transformation made by a watched script that Pipescope does not know how to rebuild.",
    (_op_param("transformation"),),
    label=lambda p: p["op"] or "the script's transformation",
    from_script=True,
))

FEEDERS.add(Kind(
    FROM_SCRIPT, "The watched script's own loop, taking elements from its tf.data iterator (or Keras fit's).",
    label=lambda p: "the script's loop",
    from_script=True,
))

MODELS.add(Kind(
    FROM_SCRIPT, "The watched script's own model and training step: timed, never built.",
    label=lambda p: "the script's model",
    from_script=True,
))


def script_placeholder(name: str) -> dict:
    """A watched script's pipeline (plain data) before its first request has imported it: the script's own
    source, loop and model."""
    return {"name": name, "source": {"kind": FROM_SCRIPT}, "feeder": {"kind": FROM_SCRIPT},
            "model": {"kind": FROM_SCRIPT}, "run": {"warmup_steps": 1}}
