"""Loading TensorFlow quietly and finding the device it will compute on."""
from __future__ import annotations

import functools
import os
import sys
import tempfile

from core.precise_time import tighten_timer_slack


@functools.lru_cache(maxsize=1)
def load_tensorflow():
    """Import TensorFlow with its C++ start-up logging (CUDA probing) kept off the terminal.

    The log lines come from native code writing to file descriptor 2, so they are
    caught there; if the import fails they are replayed before the error.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    tighten_timer_slack()  # before TensorFlow starts its threads, which inherit it
    with tempfile.TemporaryFile() as captured:
        saved = os.dup(2)
        sys.stderr.flush()
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf

            _grow_gpu_memory(tf)  # probing CUDA logs too; do it while quiet
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    return tf


def _grow_gpu_memory(tf) -> None:
    """Take GPU memory as needed rather than all of it, so other work can share the card."""
    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:  # already initialised by an earlier import: keep its setting
            pass


def model_device() -> str:
    """The device TensorFlow places the model on: the first GPU when it sees one."""
    tf = load_tensorflow()
    return "/GPU:0" if tf.config.list_physical_devices("GPU") else "/CPU:0"
