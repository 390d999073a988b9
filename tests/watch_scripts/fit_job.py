"""A Keras `model.fit` job on a tf.data pipeline that waits on slow storage: tf.data's own sleep,
--read-ms a batch, which takes no CPU from the model. Its map makes each batch's examples as it goes,
on the same cores as the model; with --storage-only the batches are made once and kept, so that the
storage wait is all a batch costs and the job's idle time is known by construction. With --cached the
same model trains on batches already in memory (the model alone). It prints its own median step and
steps/s."""
import argparse
import statistics
import time

import tensorflow as tf
from tensorflow.python.data.experimental.ops.testing import sleep as slow_storage

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=2)
parser.add_argument("--batches", type=int, default=40)
parser.add_argument("--read-ms", type=float, default=6.0, help="storage wait per batch")
parser.add_argument("--storage-only", action="store_true", help="make the batches once: a batch costs only its wait")
parser.add_argument("--cached", action="store_true", help="train on cached batches: the model alone")
parser.add_argument("--xprof", metavar="DIR", help="profile batches 20-59 with XProf's step markers into DIR")
args = parser.parse_args()


def augment(index):
    x = tf.sin(tf.range(96, dtype=tf.float32) * tf.cast(index, tf.float32))
    return x, tf.cast(index % 2, tf.float32)


def filled(cached):
    for _ in cached:  # before timing
        pass
    return cached


dataset = tf.data.Dataset.range(args.batches * 16).map(augment).batch(16)
if args.storage_only:
    dataset = filled(dataset.cache())
dataset = dataset.apply(slow_storage(int(args.read_ms * 1000))).prefetch(1)
if args.cached:
    dataset = filled(dataset.cache())

model = tf.keras.Sequential([tf.keras.Input([96]), tf.keras.layers.Dense(512, activation="relu"),
                             tf.keras.layers.Dense(512, activation="relu"), tf.keras.layers.Dense(1)])
model.compile(optimizer=tf.keras.optimizers.Adam(1e-3), loss=tf.keras.losses.BinaryCrossentropy(from_logits=True))


class StepClock(tf.keras.callbacks.Callback):
    def on_train_batch_begin(self, batch, logs=None):
        self.begins.append(time.perf_counter())

    def on_train_begin(self, logs=None):
        self.begins = []


class Profile(tf.keras.callbacks.Callback):
    """What Keras' TensorBoard callback does with profile_batch, without TensorBoard installed."""

    def on_train_begin(self, logs=None):
        self.batches, self.marker = 0, None

    def on_train_batch_begin(self, batch, logs=None):
        if self.batches == 20:
            tf.profiler.experimental.start(args.xprof)
        if 20 <= self.batches < 60:
            self.marker = tf.profiler.experimental.Trace("train", step_num=self.batches, _r=1)
            self.marker.__enter__()

    def on_train_batch_end(self, batch, logs=None):
        if self.marker is not None:
            self.marker.__exit__(None, None, None)
            self.marker = None
        self.batches += 1
        if self.batches == 60:
            tf.profiler.experimental.stop()


clock = StepClock()
profiler = [Profile()] if args.xprof else []
model.fit(dataset, epochs=args.epochs, verbose=0, callbacks=[clock, *profiler])
begins = clock.begins[3:]
print(f"step_ms_p50: {1000 * statistics.median(b - a for a, b in zip(begins, begins[1:])):.4f}")
print(f"steps_per_s: {(len(begins) - 1) / (begins[-1] - begins[0]):.2f}")
