"""The loop the tf.distribute guides teach: the iterator is handed to a tf.function that takes its
batch with next(), so the request happens inside the traced function."""
import argparse

import tensorflow as tf
from tensorflow.python.data.experimental.ops.testing import sleep as slow_storage

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=80)
parser.add_argument("--read-ms", type=float, default=10.0)
args = parser.parse_args()

dataset = tf.data.Dataset.range(100_000).map(lambda i: tf.cast(i, tf.float32)).batch(8)
dataset = dataset.apply(slow_storage(int(args.read_ms * 1000))).prefetch(1)
weights = tf.Variable(tf.zeros([8]))


@tf.function
def train_step(iterator):
    batch = next(iterator)
    weights.assign_add(batch * 1e-6)
    return tf.reduce_sum(weights)


iterator = iter(dataset)
for _ in range(args.steps):
    total = train_step(iterator)
print("total", float(total))
