"""How each source kind becomes a tf.data.Dataset, and which of its files cannot be read.

Every source yields `(features, label)` pairs: the seed's synthetic random
normal tensors, in-memory arrays, a range, files in a folder (images, or
TFRecord files to interleave), TFRecord records, and a Python generator.
"""
from __future__ import annotations

import glob
import os

import numpy as np
from pathlib import Path

from core.engine.builders import Builders
from core.engine.sample_data import write_sample_images_once
from core.engine.tf_runtime import tensorflow
from core.spec.kinds.sources import SAMPLE_IMAGES_FOLDER, SOURCES
from core.spec.params import AUTOTUNE, SpecError

SOURCE_BUILDERS = Builders(SOURCES)
builds = SOURCE_BUILDERS.builds
SYNTHETIC_BLOCK = 256


@builds("synthetic")
def _build_synthetic(params, seed):
    tf = tensorflow()

    shape = params["shape"]
    count = params["count"]

    def make_block(index):
        # Made a block at a time, then unbatched: ~8 µs per element instead of ~50 one by one,
        # so the source costs little next to the stages being profiled.
        x = tf.random.stateless_normal([SYNTHETIC_BLOCK, *shape], seed=tf.stack([tf.cast(seed, tf.int64), index]))
        positive = tf.reduce_sum(tf.reshape(x, [SYNTHETIC_BLOCK, -1]), axis=1) > 0
        return x, tf.cast(positive, tf.float32)

    elements = tf.data.Dataset.range(2**62).map(make_block).unbatch()
    return elements.take(count) if count >= 0 else elements


def _random_arrays(shape, count, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((count, *shape), dtype=np.float32)
    y = (x.reshape(count, -1).sum(axis=1) > 0).astype(np.float32)
    return x, y


@builds("tensors")
def _build_tensors(params, seed):
    tf = tensorflow()

    return tf.data.Dataset.from_tensor_slices(_random_arrays(params["shape"], params["count"], seed))


@builds("range")
def _build_range(params, seed):
    tf = tensorflow()

    count = params["count"]
    ds = tf.data.Dataset.range(count if count >= 0 else 2**62)
    return ds.map(lambda i: (tf.cast(tf.reshape(i, [1]), tf.float32), tf.cast(i % 2, tf.float32)))


@builds("generator")
def _build_generator(params, seed):
    tf = tensorflow()

    shape, count = tuple(params["shape"]), params["count"]

    def generate():
        rng = np.random.default_rng(seed)
        produced = 0
        while count < 0 or produced < count:
            x = rng.standard_normal(shape, dtype=np.float32)
            yield x, np.float32(x.sum() > 0)
            produced += 1

    signature = (tf.TensorSpec(shape, tf.float32), tf.TensorSpec([], tf.float32))
    return tf.data.Dataset.from_generator(generate, output_signature=signature)


def _files_in(folder: str, pattern: str) -> list[str]:
    return sorted(glob.glob(os.path.join(folder, pattern)) + glob.glob(os.path.join(folder, "*", pattern)))


# The one folder Pipescope may fill itself: folders a user names are only ever read.


def _is_sample_images_folder(folder: str) -> bool:
    own = os.path.abspath(os.path.expanduser(SAMPLE_IMAGES_FOLDER))
    return os.path.abspath(os.path.expanduser(folder)) == own


def ensure_image_folder(folder: str, sample_count: int) -> None:
    """Check the source's folder exists; make Pipescope's own sample folder on first use."""
    if os.path.isdir(folder):
        return
    if os.path.exists(folder):
        raise SpecError(f"source.path: {folder} is not a folder")
    if sample_count > 0 and _is_sample_images_folder(folder):
        write_sample_images_once(folder, sample_count)
        return
    raise SpecError(f"source.path: no such folder {folder}")


@builds("files")
def _build_files(params, seed):
    tf = tensorflow()

    folder = os.path.expanduser(params["path"])
    ensure_image_folder(folder, params["sample_count"])
    files = _files_in(folder, params["pattern"])
    if not files:
        raise SpecError(f"source.path: no files matching {params['pattern']} in {folder or '(empty path)'}")
    classes = sorted({os.path.basename(os.path.dirname(f)) for f in files})
    table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(tf.constant(classes), tf.range(len(classes), dtype=tf.int32)), -1)
    patterns = [os.path.join(folder, params["pattern"]), os.path.join(folder, "*", params["pattern"])]
    listed = tf.data.Dataset.list_files(patterns, shuffle=params["shuffle_files"], seed=seed)

    def with_label(filename):
        parent = tf.strings.split(filename, os.sep)[-2]
        return filename, table.lookup(parent)

    return listed.map(with_label)


# ---------------------------------------------------------------- unreadable files


def _decodes_with_tf(encoded: bytes) -> bool:
    tf = tensorflow()

    try:
        tf.io.decode_image(encoded, channels=3, expand_animations=False)
        return True
    except (tf.errors.InvalidArgumentError, ValueError):
        return False


def _decodes_with_cv2(encoded: bytes) -> bool:
    import cv2  # deferred: OpenCV loads only for pipelines that use it

    return cv2.imdecode(np.frombuffer(encoded, np.uint8), cv2.IMREAD_COLOR) is not None


# What each reading map function accepts, checked file by file outside the pipeline.
_READABLE_BY = {"read_file": lambda encoded: True, "decode_tf": _decodes_with_tf, "decode_cv2": _decodes_with_cv2}


def unreadable_files(spec, fn: str, limit: int | None = None) -> list[str]:
    """Files of the spec's `files` source that the map function `fn` cannot read (at most `limit`).

    Elements carry bytes, not names, once read; so a failure is traced back to its file
    by checking the source's files, in the order the pipeline lists them.
    """
    readable = _READABLE_BY.get(fn)
    if spec.source.kind != "files" or readable is None:
        return []
    found = []
    for path in _files_in(os.path.expanduser(spec.source.params["path"]), spec.source.params["pattern"]):
        try:
            ok = readable(Path(path).read_bytes())
        except OSError:
            ok = False
        if not ok:
            found.append(path)
            if limit is not None and len(found) >= limit:
                break
    return found


def skipped_files(spec) -> list[str] | None:
    """The files that map stages with skip_corrupt leave out; None when no stage skips."""
    skipping = [stage for stage in spec.stages if stage.kind == "map" and stage.params.get("skip_corrupt")]
    if not skipping:
        return None
    return sorted({path for stage in skipping for path in unreadable_files(spec, stage.params["fn"])})


def parse_image_example(record):
    """A tf.train.Example with `image` (encoded bytes) and `label` (int64) → (bytes, label)."""
    tf = tensorflow()

    features = tf.io.parse_single_example(record, {
        "image": tf.io.FixedLenFeature([], tf.string),
        "label": tf.io.FixedLenFeature([], tf.int64, default_value=0),
    })
    return features["image"], tf.cast(features["label"], tf.int32)


@builds("tfrecord")
def _build_tfrecord(params, seed):
    tf = tensorflow()

    files = sorted(glob.glob(os.path.expanduser(params["path"])))
    if not files:
        raise SpecError(f"source.path: no TFRecord files match {params['path'] or '(empty path)'}")
    reads = params["num_parallel_reads"]
    records = tf.data.TFRecordDataset(
        files, compression_type="" if params["compression"] == "none" else params["compression"],
        num_parallel_reads=tf.data.AUTOTUNE if reads == AUTOTUNE else reads)
    return records.map(parse_image_example)


def build_source(component, seed: int):
    return SOURCE_BUILDERS.build_for(component.kind, "source.kind")(component.params, seed)

