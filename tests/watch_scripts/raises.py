"""Trains a few steps, then fails as a user's script does: an exception it does not catch."""
import sys

import tensorflow as tf


def broken_step(step):
    if step == 5:
        raise ValueError(f"bad batch at step {step}")


dataset = tf.data.Dataset.range(100).map(lambda i: tf.cast(i, tf.float32) * 2.0).batch(4)
print("argv:", sys.argv[1:], flush=True)
for step, batch in enumerate(dataset):
    broken_step(step)
