"""Each model kind as code: a class `Model(element_spec)` with `train_step(x, y)`, which launches a step,
and `finish(result)`, which waits for it. The trained models are written with Keras, as a TensorFlow user
writes them; they train the same network as `core.engine.models` builds."""
from __future__ import annotations

from core.outputs.codegen.emitters import Code, Emitters
from core.spec.kinds.models import MODELS

MODEL_EMITTERS = Emitters(MODELS)
emits = MODEL_EMITTERS.emits

_TRAIN_STEP = '''\
    @tf.function
    def train_step(self, x, y):
        with tf.GradientTape() as tape:
            loss = self.loss(self.labels(y), self.network(tf.cast(x, tf.float32), training=True))
        variables = self.network.trainable_variables
        self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    def finish(self, loss):
        return float(loss)  # reading the loss waits for the step to end
'''

MLP = '''\
class Model:
    """The seed's network: dense ReLU layers of {hidden} units, then one logit; Adam; label 0/1."""

    def __init__(self, element_spec):
        self.network = tf.keras.Sequential([
            tf.keras.Input(tuple(element_spec[0].shape[1:])),
            tf.keras.layers.Flatten(),
            *[tf.keras.layers.Dense(units, activation="relu") for units in {hidden}],
            tf.keras.layers.Dense(1),
        ])
        self.optimizer = tf.keras.optimizers.Adam({learning_rate})
        self.loss = tf.keras.losses.BinaryCrossentropy(from_logits=True)

    def labels(self, y):
        return tf.reshape(tf.cast(y, tf.float32), [-1, 1])

''' + _TRAIN_STEP

CNN = '''\
class Model:
    """A small CNN: two strided 3×3 convolutions ({filters} and {twice} filters), global average pooling,
    a softmax layer of {classes} classes; Adam."""

    def __init__(self, element_spec):
        self.network = tf.keras.Sequential([
            tf.keras.Input(tuple(element_spec[0].shape[1:])),
            tf.keras.layers.Conv2D({filters}, 3, strides=2, padding="same", activation="relu", use_bias=False),
            tf.keras.layers.Conv2D({twice}, 3, strides=2, padding="same", activation="relu", use_bias=False),
            tf.keras.layers.GlobalAveragePooling2D(),
            tf.keras.layers.Dense({classes}),
        ])
        self.optimizer = tf.keras.optimizers.Adam({learning_rate})
        self.loss = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def labels(self, y):
        return tf.clip_by_value(tf.cast(tf.reshape(y, [-1]), tf.int32), 0, {classes} - 1)

''' + _TRAIN_STEP

SIMULATED = '''\
class Model:
    """A simulated accelerator: each step takes {step_ms} ms on the "device" and no host CPU. As a GPU's, a
    launch returns at once and the device runs the launched steps one after another."""

    def __init__(self, element_spec):
        self.seconds, self.free_at = {step_ms} / 1000.0, 0.0

    def train_step(self, x, y):
        self.free_at = max(time.perf_counter(), self.free_at) + self.seconds
        return self.free_at

    def finish(self, done_at):
        """The host waits on the "device": asleep, then yielding through the last 0.1 ms."""
        remaining = done_at - time.perf_counter()
        if remaining > 1e-4:
            time.sleep(remaining - 1e-4)
        while time.perf_counter() < done_at:
            time.sleep(0)
        return 0.0
'''


@emits("mlp")
def _mlp(params) -> Code:
    return Code(helpers=(MLP.format(hidden=params["hidden"], learning_rate=params["learning_rate"]),))


@emits("cnn")
def _cnn(params) -> Code:
    return Code(helpers=(CNN.format(filters=params["filters"], twice=2 * params["filters"],
                                    classes=params["num_classes"], learning_rate=params["learning_rate"]),))


@emits("simulated")
def _simulated(params) -> Code:
    return Code(helpers=(SIMULATED.format(step_ms=params["step_ms"]),), imports=("import time",))
