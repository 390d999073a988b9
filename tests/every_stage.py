"""A pipeline with every built-in stage kind, for the tests that build, generate or ship all of them."""
from __future__ import annotations

from core.spec.pipeline import PipelineSpec, spec_from_dict
from core.spec.presets import load_preset


def every_stage_kind(side_branch: dict, last: list[dict]) -> PipelineSpec:
    """whatif's feeder and model on a range source, then every stage kind but the `last` ones, which end it;
    `side_branch` is what the zip stage joins (its features: three)."""
    data = load_preset("whatif").to_dict()
    data["source"] = {"kind": "range", "count": 400}
    data["stages"] = [
        {"id": "shuffle", "kind": "shuffle", "buffer_size": 16},
        {"id": "finite", "kind": "filter", "predicate": "finite"},
        {"id": "twice", "kind": "flat_map", "fn": "repeat_element", "n": 2},
        {"id": "shard", "kind": "shard", "num_shards": 2, "index": 1},
        {"id": "more", "kind": "concatenate", "branch": {"source": {"kind": "range", "count": 8}, "stages": []}},
        {"id": "side", "kind": "zip", "branch": side_branch},
        {"id": "cache", "kind": "cache"},
        {"id": "repeat", "kind": "repeat", "count": -1},
        {"id": "batch", "kind": "padded_batch", "batch_size": 8},
        {"id": "io", "kind": "latency", "ms": 0.5, "num_parallel_calls": 2},
        {"id": "cpu", "kind": "cpu_work", "ms": 0.1, "num_parallel_calls": "AUTOTUNE"},
        *last,
    ]
    return spec_from_dict(data)
