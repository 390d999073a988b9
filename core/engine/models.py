"""How each model kind is built: the seed's 1024-1024-1 network, a small CNN, a simulated accelerator.

A built model exposes `train_step(batch)`, which returns only once the step's
result is ready (the runner's `t_done`), so its duration is the true compute.
"""
from __future__ import annotations

import time

from core.engine.builders import Builders
from core.engine.precise_time import PreciseSleeper
from core.engine.tf_runtime import tensorflow
from core.spec.kinds.models import MODELS
from core.spec.params import SpecError

MODEL_BUILDERS = Builders(MODELS)
builds = MODEL_BUILDERS.builds


class _Adam:
    """Adam over a fixed list of variables, updated in place as tf.keras's Adam does.

    In-place slot updates (assign_add/assign_sub) keep each step to one buffer per
    variable; `assign` of a freshly computed value allocates and swaps a new one.
    A few lines, and no Keras start-up cost.
    """

    def __init__(self, variables, learning_rate, beta1=0.9, beta2=0.999, epsilon=1e-7):
        tf = tensorflow()

        self.variables = variables
        self.lr, self.beta1, self.beta2, self.epsilon = learning_rate, beta1, beta2, epsilon
        self.m = [tf.Variable(tf.zeros(v.shape, v.dtype), trainable=False) for v in variables]
        self.v = [tf.Variable(tf.zeros(v.shape, v.dtype), trainable=False) for v in variables]
        self.t = tf.Variable(0.0, trainable=False)

    def apply(self, gradients):
        tf = tensorflow()

        self.t.assign_add(1.0)
        alpha = self.lr * tf.sqrt(1.0 - self.beta2 ** self.t) / (1.0 - self.beta1 ** self.t)
        for var, grad, m, v in zip(self.variables, gradients, self.m, self.v):
            m.assign_add((grad - m) * (1.0 - self.beta1))
            v.assign_add((tf.square(grad) - v) * (1.0 - self.beta2))
            var.assign_sub((m * alpha) / (tf.sqrt(v) + self.epsilon))


class _TrainedModel:
    """Shared training loop: a compiled step that returns the loss; reading it back syncs.

    `launch(batch)` starts a step and returns (on a GPU, before the device is done);
    `sync()` waits for the last launched step by reading its loss.
    """

    reads_device_memory = True  # its batches are copied to its device first

    def __init__(self, device: str, variables, learning_rate: float):
        tf = tensorflow()

        self.device = device
        self.optimizer = _Adam(variables, learning_rate)
        self.variables = variables
        self._step = tf.function(self._train_step)
        self._last_loss = None

    def _train_step(self, x, y):
        tf = tensorflow()

        with tf.GradientTape() as tape:
            loss = self.loss(x, y)
        self.optimizer.apply(tape.gradient(loss, self.variables))
        return loss

    def launch(self, batch) -> None:
        # No device scope here: traced under one, every op would carry it. The variables
        # already live on the model's device, and the placer puts the ops beside them.
        self._last_loss = self._step(*batch)

    def sync(self) -> float:
        loss, self._last_loss = self._last_loss, None
        return float(loss.numpy()) if loss is not None else 0.0  # .numpy() waits for the device

    def train_step(self, batch) -> float:
        self.launch(batch)
        return self.sync()


def _feature_size(element_spec, kind: str) -> int:
    shape = element_spec[0].shape
    if shape.rank is None or any(d is None for d in shape[1:]):
        raise SpecError(f"model.kind: {kind} needs features of a fixed shape, got {shape}; add a resize or batch stage")
    size = 1
    for dim in shape[1:]:
        size *= dim
    return size


class SeedNetwork(_TrainedModel):
    """The seed's two-layer ReLU network with a single logit; label is 0/1."""

    def __init__(self, params, device, element_spec, seed):
        tf = tensorflow()

        features = _feature_size(element_spec, "mlp")
        self.features = features
        sizes = [features, *params["hidden"], 1]
        init = tf.random.stateless_normal
        with tf.device(device):
            self.weights = [
                tf.Variable(init([a, b], seed=[seed, i]) * (2.0 / a) ** 0.5) for i, (a, b) in enumerate(zip(sizes, sizes[1:]))
            ]
            self.biases = [tf.Variable(tf.zeros([b])) for b in sizes[1:]]
            super().__init__(device, self.weights + self.biases, params["learning_rate"])

    def loss(self, x, y):
        tf = tensorflow()
        # (not +) lets it fuse matmul, bias and ReLU as it does for a Keras Dense layer.
        h = tf.reshape(tf.cast(x, tf.float32), [-1, self.features])
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = tf.nn.bias_add(tf.matmul(h, w), b)
            if i < len(self.weights) - 1:
                h = tf.nn.relu(h)
        labels = tf.reshape(tf.cast(y, tf.float32), [-1, 1])
        return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=h))


class SmallCNN(_TrainedModel):
    """Two strided 3×3 convolutions, global average pooling, a softmax layer."""

    def __init__(self, params, device, element_spec, seed):
        tf = tensorflow()

        shape = element_spec[0].shape
        if shape.rank != 4 or shape[-1] is None:
            raise SpecError(f"model.kind: cnn needs batches of images [batch, height, width, channels], got {shape}")
        channels, filters, classes = shape[-1], params["filters"], params["num_classes"]
        init = tf.random.stateless_normal
        with tf.device(device):
            self.kernels = [
                tf.Variable(init([3, 3, channels, filters], seed=[seed, 0]) * (2.0 / (9 * channels)) ** 0.5),
                tf.Variable(init([3, 3, filters, 2 * filters], seed=[seed, 1]) * (2.0 / (9 * filters)) ** 0.5),
            ]
            self.dense = tf.Variable(init([2 * filters, classes], seed=[seed, 2]) * (1.0 / filters) ** 0.5)
            self.bias = tf.Variable(tf.zeros([classes]))
            super().__init__(device, self.kernels + [self.dense, self.bias], params["learning_rate"])
        self.classes = classes

    def loss(self, x, y):
        tf = tensorflow()

        h = tf.cast(x, tf.float32)
        for kernel in self.kernels:
            h = tf.nn.relu(tf.nn.conv2d(h, kernel, strides=2, padding="SAME"))
        logits = tf.nn.bias_add(tf.reduce_mean(h, axis=[1, 2]) @ self.dense, self.bias)
        labels = tf.clip_by_value(tf.cast(tf.reshape(y, [-1]), tf.int32), 0, self.classes - 1)
        return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))


class SimulatedAccelerator:
    """A device step that takes `step_ms` and uses no host CPU: its timing is known by construction.

    Like a GPU's, its launch returns at once and the device works through the launched steps one after
    another; `sync` waits until the last is done. With `sync: every_step` the host waits out every step,
    with `sync: window` it takes the next batches while the device runs.
    """

    reads_device_memory = False  # a copy to a real GPU would add time the truth leaves out

    def __init__(self, params, device, element_spec, seed):
        self.device = device
        self.seconds = params["step_ms"] / 1000.0
        self._sleeper = PreciseSleeper()
        self._free_at = 0.0  # perf_counter seconds when the device has run every launched step

    def launch(self, batch) -> None:
        self._free_at = max(time.perf_counter(), self._free_at) + self.seconds

    def sync(self) -> float:
        self._sleeper.sleep(self._free_at - time.perf_counter())  # the host waits on the "device"
        return 0.0

    def train_step(self, batch) -> float:
        self.launch(batch)
        return self.sync()


@builds("mlp")
def _build_mlp(params, device, element_spec, seed):
    return SeedNetwork(params, device, element_spec, seed)


@builds("cnn")
def _build_cnn(params, device, element_spec, seed):
    return SmallCNN(params, device, element_spec, seed)


@builds("simulated")
def _build_simulated(params, device, element_spec, seed):
    return SimulatedAccelerator(params, device, element_spec, seed)


def launches_ahead(component, device: str) -> bool:
    """Whether a launch of this model returns before its step is done, so that not waiting for each
    step (`sync: window`) can overlap the host's work with the device's: the simulated accelerator's
    always, a trained model's on a GPU; on the CPU a launch runs the step."""
    return component.kind == "simulated" or "GPU" in device.upper()


def build_model(component, device: str, element_spec, seed: int):
    return MODEL_BUILDERS.build_for(component.kind, "model.kind")(component.params, device, element_spec, seed)
