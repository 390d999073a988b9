"""One tf.data service server (a dispatcher or a worker) in a process of its own.

A run's `tf_data_service` stage starts these (`core.engine.service`): `python -m core.engine.service_process
ROLE`. The process loads TensorFlow, reads one line of JSON settings on stdin (a worker's settings come once
the dispatcher's address is known, so both load TensorFlow at once), starts its server and says its address on
stdout (`READY` and the address). Then it reads stdin to its end: the run closes its end of the pipe when it
ends, and the kernel closes it if the run's process dies, however it dies, so no server outlives its run.
It exits with `os._exit`, not `server.stop()`: after a stop, gRPC's reconnect thread can keep a process alive
for about 20 s (tensorflow#56490).

A worker of a pipeline with Python functions (OpenCV, a generator, a sleep) builds that pipeline itself from
the same description, and files each of its Python functions under the token the training process's graph
names it by: a tf.data service worker runs the graph it is sent, and the graph calls Python by token.
`python main.py service-worker` serves a dispatcher from another machine (`start_worker`).
"""
from __future__ import annotations

import json
import os
import sys
from typing import Optional

from core.engine.service import READY, python_function_tokens


def file_functions_under(tokens: list[str], upstream: dict, seed: int, serial: bool):
    """Build the pipeline before the service stage here, and file its Python functions under the training
    process's `tokens`. Returns the dataset, which keeps the functions alive (the registry holds them weakly)."""
    from tensorflow.python.ops import script_ops  # deferred: TensorFlow loads only in a run; private, hence checked

    from core.engine.build import build_branch_dataset
    from core.spec.pipeline import branch_from_dict

    dataset = build_branch_dataset(branch_from_dict(upstream, "upstream"), seed, serial)
    ours = python_function_tokens(dataset)
    if len(ours) != len(tokens):
        raise RuntimeError(f"the pipeline built here calls {len(ours)} Python functions, the training "
                           f"process's {len(tokens)}")
    registry = getattr(getattr(script_ops, "_py_funcs", None), "_funcs", None)
    if registry is None:
        raise RuntimeError("this TensorFlow keeps its Python functions where Pipescope does not look")
    for theirs, mine in zip(tokens, ours):
        registry[theirs] = registry[mine]
    return dataset


def start_dispatcher(port: int = 0):
    from core.engine.tf_runtime import tensorflow

    service = tensorflow().data.experimental.service
    return service.DispatchServer(service.DispatcherConfig(port=port))


def start_worker(dispatcher: str, port: int = 0, host: str = "localhost"):
    """A worker that registers with `dispatcher` (grpc://HOST:PORT or HOST:PORT) and tells it to be reached
    at `host`: the training process reads elements from there."""
    from core.engine.tf_runtime import tensorflow

    service = tensorflow().data.experimental.service
    return service.WorkerServer(service.WorkerConfig(dispatcher_address=dispatcher.removeprefix("grpc://"),
                                                     worker_address=f"{host}:%port%", port=port))


def server_address(server) -> str:
    if hasattr(server, "target"):
        return server.target
    return f"grpc://{server._address}"  # a WorkerServer says its address only privately (TensorFlow 2.21)


def _serve(role: str, settings: dict):
    if role == "dispatcher":
        return start_dispatcher(settings.get("port", 0)), None
    kept = None
    if settings.get("upstream") is not None:
        kept = file_functions_under(settings["tokens"], settings["upstream"], settings["seed"], settings["serial"])
    return start_worker(settings["dispatcher"]), kept


def main(argv: Optional[list[str]] = None) -> int:
    role = (argv if argv is not None else sys.argv[1:])[0]
    from core.engine.tf_runtime import load_tensorflow

    load_tensorflow()  # before the settings: a worker loads it while the dispatcher starts
    settings = json.loads(sys.stdin.readline() or "{}")
    try:
        server, kept = _serve(role, settings)
    except Exception as error:  # said to the run, which names this server in its error
        print(f"{type(error).__name__}: {error}", file=sys.stderr, flush=True)
        return 1
    print(READY + server_address(server), flush=True)
    sys.stdin.read()  # to its end: the run closed it, or died; `server` and `kept` live until then
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
