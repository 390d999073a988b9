"""The `images_tf` job as a TensorFlow user writes it by hand: the reference for what profiling
it under Pipescope costs (`bench/model_speed.py --job images` runs the two side by side).

The same pipeline as the preset (a folder of JPEGs listed in order, labelled by their
sub-folder, repeated, then read, decoded, resized to 64 × 64 and scaled by tf.image, each a
map of its own with AUTOTUNE calls, batches of 32, prefetch AUTOTUNE) and the same small CNN (two strided 3×3
ReLU convolutions of 16 and 32 filters, global average pooling, a softmax layer), Keras
`Adam(1e-3)` and a `tf.function` train step whose loss is read every step.

    python bench/idiomatic_images.py [--path DIR] [--steps 200] [--warmup 10]
Prints the median step's time (`step_ms_p50: <float>`), then `steps_per_s: <float>` last.
"""
import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")  # as in every process Pipescope starts
import tensorflow as tf  # noqa: E402

AUTOTUNE = tf.data.AUTOTUNE


def make_dataset(folder: str) -> tf.data.Dataset:
    files = tf.data.Dataset.list_files([os.path.join(folder, "*.jpg"), os.path.join(folder, "*", "*.jpg")],
                                       shuffle=False)
    classes = sorted({os.path.basename(os.path.dirname(name.decode())) for name in files.as_numpy_iterator()})
    table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(tf.constant(classes), tf.range(len(classes), dtype=tf.int32)), -1)

    def label(filename):
        return filename, table.lookup(tf.strings.split(filename, os.sep)[-2])

    def decode(encoded, y):
        image = tf.io.decode_image(encoded, channels=3, expand_animations=False)
        image.set_shape([None, None, 3])
        return image, y

    def resize(image, y):
        return tf.saturate_cast(tf.round(tf.image.resize(image, [64, 64])), tf.uint8), y

    return (files.map(label).repeat()
            .map(lambda filename, y: (tf.io.read_file(filename), y), num_parallel_calls=AUTOTUNE)
            .map(decode, num_parallel_calls=AUTOTUNE)
            .map(resize, num_parallel_calls=AUTOTUNE)
            .map(lambda image, y: (tf.cast(image, tf.float32) / 255.0, y), num_parallel_calls=AUTOTUNE)
            .batch(32, drop_remainder=True).prefetch(AUTOTUNE))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--path", default=os.path.expanduser("~/.cache/pipescope/sample_images"))
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    args = parser.parse_args()

    model = tf.keras.Sequential([
        tf.keras.Input((64, 64, 3)),
        tf.keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu"),
        tf.keras.layers.Conv2D(32, 3, strides=2, padding="same", activation="relu"),
        tf.keras.layers.GlobalAveragePooling2D(),
        tf.keras.layers.Dense(2),
    ])
    optimizer = tf.keras.optimizers.Adam(1e-3)
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function
    def train_step(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(tf.clip_by_value(y, 0, 1), model(x, training=True))
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return loss

    batches = iter(make_dataset(args.path))
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
