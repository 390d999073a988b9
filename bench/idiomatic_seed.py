"""The seed's tf.data experiment as a TensorFlow user writes it by hand: the reference the
built-in `mlp` model must keep up with (`bench/model_speed.py` runs the two side by side).

The same pipeline as the `seed_tf_data` preset (random normal blocks of 256 × 1024,
unbatched, label `sum > 0`, batches of 128, prefetch 5), the seed's network (one hidden
ReLU layer of 1024 units, then one logit), `tf.keras.optimizers.Adam(1e-2)` and a
`tf.function` train step whose loss is read every step. It warms up as the preset does, then times the rest.

    python bench/idiomatic_seed.py [--steps 1000] [--warmup 10]
Prints the median step's time (`step_ms_p50: <float>`), then `steps_per_s: <float>` last.
"""
import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")  # as in every process Pipescope starts
import tensorflow as tf  # noqa: E402


def make_dataset(seed: int = 0) -> tf.data.Dataset:
    def block(index):
        x = tf.random.stateless_normal([256, 1024], seed=tf.stack([tf.cast(seed, tf.int64), index]))
        return x, tf.cast(tf.reduce_sum(x, axis=1) > 0, tf.float32)

    return tf.data.Dataset.range(2**62).map(block).unbatch().batch(128, drop_remainder=True).prefetch(5)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=10)
    args = parser.parse_args()

    model = tf.keras.Sequential([
        tf.keras.Input((1024,)),
        tf.keras.layers.Dense(1024, activation="relu"),
        tf.keras.layers.Dense(1),
    ])
    optimizer = tf.keras.optimizers.Adam(1e-2)
    loss_fn = tf.keras.losses.BinaryCrossentropy(from_logits=True)

    @tf.function
    def train_step(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y[:, None], model(x, training=True))
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return loss

    batches = iter(make_dataset())
    for _ in range(args.warmup):
        train_step(*next(batches)).numpy()
    start = previous = time.perf_counter()
    step_ms = []
    for _ in range(args.steps):
        train_step(*next(batches)).numpy()
        now = time.perf_counter()
        step_ms.append((now - previous) * 1000.0)
        previous = now
    print(f"step_ms_p50: {statistics.median(step_ms):.4f}")
    print(f"steps_per_s: {args.steps / (time.perf_counter() - start):.2f}")


if __name__ == "__main__":
    main()
