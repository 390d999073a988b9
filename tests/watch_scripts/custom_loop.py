"""A custom training loop as the TensorFlow guides teach it: `for x, y in dataset:` and a
tf.function step, with a validation pass after each epoch. It times itself (its own clock) and,
with --report FILE, writes what it measured: steps from its second request to its last one."""
import argparse
import contextlib
import json
import statistics
import time

import tensorflow as tf
from tensorflow.python.data.experimental.ops.testing import sleep as slow_storage

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=2)
parser.add_argument("--examples", type=int, default=256)
parser.add_argument("--work", type=int, default=40, help="matrix products per example in slow_read")
parser.add_argument("--read-ms", type=float, default=0.0, help="storage wait per batch, using no CPU")
parser.add_argument("--report", help="write the job's own figures here (JSON)")
parser.add_argument("--xprof", metavar="DIR", help="profile steps 20-69 with XProf's step markers into DIR")
args = parser.parse_args()


def slow_read(index):
    x = tf.fill([64, 64], tf.cast(index, tf.float32) / 1000.0)
    for _ in range(args.work):
        x = tf.tanh(tf.matmul(x, x) / 64.0)
    return tf.reshape(x[:1], [64]), tf.cast(index % 2, tf.float32)


def make_dataset(examples):
    dataset = tf.data.Dataset.range(examples)
    dataset = dataset.map(slow_read, num_parallel_calls=1)
    dataset = dataset.batch(16)
    if args.read_ms:  # tf.data's own sleep: a wait known by construction, which takes no CPU from the model
        dataset = dataset.apply(slow_storage(int(args.read_ms * 1000)))
    return dataset.prefetch(2)


train = make_dataset(args.examples)
validation = tf.data.Dataset.range(32).map(slow_read).batch(16)
model = tf.keras.Sequential([tf.keras.Input([64]), tf.keras.layers.Dense(256, activation="relu"),
                             tf.keras.layers.Dense(1)])
optimizer = tf.keras.optimizers.Adam(1e-3)
loss_fn = tf.keras.losses.BinaryCrossentropy(from_logits=True)


@tf.function
def train_step(x, y):
    with tf.GradientTape() as tape:
        loss = loss_fn(y[:, None], model(x, training=True))
    optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
    return loss


PROFILED = (20, 70)


def profiling(step):
    if args.xprof and step == PROFILED[0]:
        tf.profiler.experimental.start(args.xprof)
    elif args.xprof and step == PROFILED[1]:
        tf.profiler.experimental.stop()


def step_marker(step):
    if args.xprof and PROFILED[0] <= step < PROFILED[1]:
        return tf.profiler.experimental.Trace("train", step_num=step, _r=1)
    return contextlib.nullcontext()


steps = []  # (requested, waited, ended): a step ends at the next request for training data
open_step = None
for epoch in range(args.epochs):
    iterator = iter(train)
    while True:
        requested = time.perf_counter()
        if open_step:
            steps.append((*open_step, requested))
        profiling(len(steps))
        with step_marker(len(steps)):
            try:
                x, y = next(iterator)
            except StopIteration:
                open_step = None
                break
            open_step = (requested, time.perf_counter() - requested)
            float(train_step(x, y))
    for x, y in validation:
        model(x)
    print(f"epoch {epoch + 1} done", flush=True)

# The job's own clock, over the steps after the first (tracing): its wall time from the end of the first
# step to the end of the last, validation passes included, the part of it spent waiting for data, and
# its median step.
measured = steps[1:]
wall = measured[-1][2] - steps[0][2]
own = {"steps": len(measured), "steps_per_s": len(measured) / wall,
       "idle_fraction": sum(waited for _, waited, _ in measured) / wall,
       "step_ms_p50": 1000 * statistics.median(ended - requested for requested, _, ended in measured)}
if args.xprof:  # as XProf counts them: the waits over the marked steps' own time, validation left out
    profiled = steps[PROFILED[0]:PROFILED[1]]
    own["profiled_idle"] = sum(waited for _, waited, _ in profiled) / sum(ended - requested
                                                                         for requested, _, ended in profiled)
print(json.dumps(own))
if args.report:
    with open(args.report, "w") as report:
        json.dump(own, report)
