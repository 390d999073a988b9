"""Source kinds: where a pipeline's `(features, label)` elements come from."""
from __future__ import annotations

from core.spec.catalog import Kind, Registry
from core.spec.params import Param

SOURCES = Registry("source")
SAMPLE_IMAGES_FOLDER = "~/.cache/pipescope/sample_images"


def _shape_param(default) -> Param:
    return Param("shape", "int_list", default, "Shape of one element's features.")


def _count_param(default, infinite=True) -> Param:
    return Param("count", "int", default, "Number of elements" + ("; −1 for endless." if infinite else "."),
                 min=-1 if infinite else 1)


SOURCES.add(Kind(
    "synthetic", "Random normal features made in the pipeline, labelled sum > 0 (the seed's data).",
    (_shape_param([1024]), _count_param(-1)),
    label=lambda p: f"synthetic {'×'.join(map(str, p['shape']))}",
))

SOURCES.add(Kind(
    "tensors", "In-memory NumPy arrays sliced into elements (from_tensor_slices).",
    (_shape_param([32]), _count_param(1024, infinite=False)),
    label=lambda p: f"tensors {p['count']}",
))

SOURCES.add(Kind(
    "range", "The integers 0, 1, 2, … as one-value features; label is the parity.",
    (_count_param(1000),),
    label=lambda p: f"range {p['count']}",
))

SOURCES.add(Kind(
    "generator", "A Python generator yielding NumPy arrays (from_generator; runs under the GIL).",
    (_shape_param([32]), _count_param(-1)),
    label=lambda p: "generator",
))

SOURCES.add(Kind(
    "files", "Files in a folder (and its class subfolders), as (path, class index); read them with "
    "map read_file or interleave.",
    (
        Param("path", "str", "", "The folder."),
        Param("pattern", "str", "*.jpg", "Which files, e.g. *.jpg or *.tfrecord."),
        Param("shuffle_files", "bool", False, "Shuffle the file list (list_files)."),
        Param("sample_count", "int", 0, f"When path is Pipescope's own sample folder ({SAMPLE_IMAGES_FOLDER}) "
              "and it is absent, first write this many sample JPEGs there (0: never). Folders you name "
              "are only read.", min=0, max=1_000_000),
    ),
    label=lambda p: f"files {p['pattern']}",
))

SOURCES.add(Kind(
    "tfrecord", "TFRecord files of tf.train.Example records with `image` bytes and an int `label`.",
    (
        Param("path", "str", "", "A file or glob pattern, e.g. data/*.tfrecord."),
        Param("num_parallel_reads", "int", 1, "Files read at once.", min=1, max=256, autotune=True),
        Param("compression", "choice", "none", "Compression of the files.", choices=("none", "GZIP", "ZLIB")),
    ),
    label=lambda p: "tfrecord",
))
