"""Feeder kinds: how batches reach the model (the seed's three experiments)."""
from __future__ import annotations

from core.spec.catalog import Kind, Registry
from core.spec.params import Param

FEEDERS = Registry("feeder")

FEEDERS.add(Kind("feed_dict", "Produce a batch, then feed it: strictly serial, as the seed's feed_dict."))

FEEDERS.add(Kind(
    "queue_runner", "Producer threads fill a FIFOQueue while the model dequeues (the seed's QueueRunner).",
    (
        Param("capacity", "int", 5, "Batches the queue holds.", min=1, max=100_000),
        Param("threads", "int", 1, "Producer threads enqueueing batches.", min=1, max=64),
    ),
    label=lambda p: f"queue {p['capacity']} · {p['threads']} thread{'s' if p['threads'] > 1 else ''}",
    buffer_param="capacity",
    parallel_param="threads",
))

FEEDERS.add(Kind(
    "tf_data", "The model iterates the tf.data pipeline itself (prefetch overlaps input and compute).",
    (
        Param("autotune", "bool", True, "Let tf.data tune parallelism and buffer sizes set to AUTOTUNE."),
        Param("inject_prefetch", "bool", False, "Let tf.data add a prefetch of its own at the end (its default); "
              "off, only the prefetch stages described overlap input and compute."),
    ),
    label=lambda p: "tf.data" + ("" if p["autotune"] else " (no autotune)"),
))
