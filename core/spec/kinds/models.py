"""Model kinds: the seed's 1024→1024→1 network (one hidden layer), a small CNN, a simulated accelerator."""
from __future__ import annotations

from core.spec.catalog import Kind, Registry
from core.spec.params import Param

MODELS = Registry("model")


def _learning_rate(default: float) -> Param:
    return Param("learning_rate", "float", default, "Adam learning rate.", min=1e-8, max=10.0)


# How the training loop waits for the model (the runner's business): changing it leaves the model as built.
SYNC_PARAMS = ("sync", "sync_window")
_SYNC = (
    Param("sync", "choice", "every_step", "every_step: read the loss after each step (the seed's way), so each "
          "step's compute is measured; window: launch steps without waiting and sync every sync_window steps, "
          "so compute is a window's average and the host's launches overlap the device.",
          choices=("every_step", "window")),
    Param("sync_window", "int", 0, "Steps between syncs with sync: window (0: about every 50 ms).",
          min=0, max=100_000),
)

MODELS.add(Kind(
    "mlp", "The seed's network: dense ReLU layers then one logit, Adam, label 0/1.",
    (Param("hidden", "int_list", [1024], "Units of each hidden layer (the seed's: one of 1024)."),
     _learning_rate(1e-2), *_SYNC),
    label=lambda p: "mlp " + "-".join(map(str, p["hidden"])) + "-1",
))

MODELS.add(Kind(
    "cnn", "A small convolutional network for image batches.",
    (
        Param("filters", "int", 16, "Filters of the first convolution (the second has twice as many).", min=1,
              max=1024),
        Param("num_classes", "int", 2, "Classes of the labels.", min=2, max=100_000),
        _learning_rate(1e-3),
        *_SYNC,
    ),
    label=lambda p: f"cnn {p['filters']}",
))

MODELS.add(Kind(
    "simulated", "A simulated accelerator: each step takes step_ms and uses no host CPU; like a GPU's, "
    "its launch returns at once and the device runs the launched steps one after another.",
    (Param("step_ms", "float", 6.0, "Milliseconds per training step.", min=0.0, max=60_000.0), *_SYNC),
    label=lambda p: f"simulated {p['step_ms']:g} ms",
))
