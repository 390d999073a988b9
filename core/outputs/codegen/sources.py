"""Each source kind as code: the same elements as `core.engine.sources` builds, `(features, label)` pairs."""
from __future__ import annotations

from core.outputs.codegen.emitters import Code, Emitters, literal
from core.spec.kinds.sources import SOURCES

SOURCE_EMITTERS = Emitters(SOURCES)
emits = SOURCE_EMITTERS.emits

RANDOM_BLOCKS = '''\
def random_blocks(shape, seed, block=256):
    """Random normal features, label `sum > 0`: made a block at a time, then unbatched, which costs
    ~8 µs an element instead of ~50 one by one."""
    def make_block(index):
        x = tf.random.stateless_normal([block, *shape], seed=tf.stack([tf.cast(seed, tf.int64), index]))
        positive = tf.reduce_sum(tf.reshape(x, [block, -1]), axis=1) > 0
        return x, tf.cast(positive, tf.float32)

    return tf.data.Dataset.range(2**62).map(make_block).unbatch()
'''

RANDOM_ARRAYS = '''\
def random_arrays(shape, count, seed):
    """`count` random normal examples in memory, label `sum > 0`."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((count, *shape), dtype=np.float32)
    return x, (x.reshape(count, -1).sum(axis=1) > 0).astype(np.float32)
'''

RANDOM_EXAMPLES = '''\
def random_examples(shape, count, seed):
    """A Python generator of random normal examples, label `sum > 0`; endless when count is -1."""
    rng = np.random.default_rng(seed)
    produced = 0
    while count < 0 or produced < count:
        x = rng.standard_normal(shape, dtype=np.float32)
        yield x, np.float32(x.sum() > 0)
        produced += 1
'''

LABELLED_FILES = '''\
def labelled_files(folder, pattern, shuffle, seed):
    """(file name, class index) for the files in `folder` and its subfolders; a file's class is its
    folder's name."""
    folder = os.path.expanduser(folder)
    patterns = [os.path.join(folder, pattern), os.path.join(folder, "*", pattern)]
    files = sorted(name for each in patterns for name in glob.glob(each))
    if not files:
        raise SystemExit(f"error: no files matching {pattern} in {folder}")
    classes = sorted({os.path.basename(os.path.dirname(name)) for name in files})
    table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(tf.constant(classes), tf.range(len(classes), dtype=tf.int32)), -1)

    def with_label(filename):
        return filename, table.lookup(tf.strings.split(filename, os.sep)[-2])

    return tf.data.Dataset.list_files(patterns, shuffle=shuffle, seed=seed).map(with_label)
'''

PARSE_IMAGE_EXAMPLE = '''\
def parse_image_example(record):
    """A tf.train.Example with `image` (encoded bytes) and `label` (int64) → (bytes, label)."""
    features = tf.io.parse_single_example(record, {
        "image": tf.io.FixedLenFeature([], tf.string),
        "label": tf.io.FixedLenFeature([], tf.int64, default_value=0),
    })
    return features["image"], tf.cast(features["label"], tf.int32)
'''


@emits("synthetic")
def _synthetic(params, seed: str) -> Code:
    taken = f".take({params['count']})" if params["count"] >= 0 else ""
    return Code((f"ds = random_blocks({params['shape']}, {seed}){taken}",), (RANDOM_BLOCKS,))


@emits("tensors")
def _tensors(params, seed: str) -> Code:
    return Code((f"ds = tf.data.Dataset.from_tensor_slices(random_arrays({params['shape']}, {params['count']}, "
                 f"{seed}))",), (RANDOM_ARRAYS,), ("import numpy as np",))


@emits("range")
def _range(params, seed: str) -> Code:
    count = params["count"] if params["count"] >= 0 else "2**62"
    return Code((f"ds = tf.data.Dataset.range({count})",
                 "ds = ds.map(lambda i: (tf.cast(tf.reshape(i, [1]), tf.float32), tf.cast(i % 2, tf.float32)))"))


@emits("generator")
def _generator(params, seed: str) -> Code:
    shape = params["shape"]
    return Code((f"ds = tf.data.Dataset.from_generator(lambda: random_examples({shape}, {params['count']}, {seed}), "
                 f"output_signature=(tf.TensorSpec({shape}, tf.float32), tf.TensorSpec([], tf.float32)))",),
                (RANDOM_EXAMPLES,), ("import numpy as np",))


@emits("files")
def _files(params, seed: str) -> Code:
    return Code((f"ds = labelled_files({params['path']!r}, {params['pattern']!r}, "
                 f"shuffle={params['shuffle_files']}, seed={seed})",), (LABELLED_FILES,), ("import glob", "import os"))


@emits("tfrecord")
def _tfrecord(params, seed: str) -> Code:
    compression = "" if params["compression"] == "none" else params["compression"]
    reads = params["num_parallel_reads"]
    return Code((f"files = sorted(glob.glob(os.path.expanduser({params['path']!r})))",
                 f"ds = tf.data.TFRecordDataset(files, compression_type={compression!r}, "
                 f"num_parallel_reads={literal(reads)})",
                 "ds = ds.map(parse_image_example)"), (PARSE_IMAGE_EXAMPLE,), ("import glob", "import os"))
