"""`service-worker`: a tf.data service worker for another machine, serving a dispatcher (a run's, or one of
its own) until Ctrl-C."""
from __future__ import annotations

import os
import socket
import sys
import threading
import time

from cli.common import EXIT_INTERRUPTED
from core.spec.kinds.stages import SERVICE_SECURITY
from core.spec.params import SpecError


def add_parser(subparsers) -> None:
    worker = subparsers.add_parser("service-worker", help="a tf.data service worker for another machine")
    worker.add_argument("--dispatcher", required=True, metavar="grpc://HOST:PORT",
                        help="the dispatcher to serve (a run's tf_data_service stage with a fixed port)")
    worker.add_argument("--host", default=socket.gethostname(),
                        help="the name the training machine reaches this one by (default: %(default)s)")
    worker.add_argument("--port", type=int, default=0, help="the port to listen on (default: one the system picks)")
    worker.set_defaults(handler=service_worker_command)


def service_worker_command(args) -> int:
    if not args.dispatcher.startswith("grpc://") or not args.dispatcher.rpartition(":")[2].isdigit():
        raise SpecError(f"--dispatcher {args.dispatcher}: must be grpc://HOST:PORT")
    if not 0 <= args.port <= 65535:
        raise SpecError(f"--port {args.port}: must be between 0 and 65535")
    from core.engine.service_process import server_address, start_worker  # deferred: loads TensorFlow

    print(f"warning: {SERVICE_SECURITY}", file=sys.stderr)
    print(f"waiting for the dispatcher {args.dispatcher} (Ctrl-C to stop)…", file=sys.stderr, flush=True)
    started: list = []
    # Starting registers with the dispatcher, and waits for it in C++, where Ctrl-C cannot reach: a thread's.
    threading.Thread(target=lambda: started.append(start_worker(args.dispatcher, args.port, args.host)),
                     name="pipescope-service-worker", daemon=True).start()
    try:
        while not started:
            time.sleep(0.2)
        print(f"tf.data service worker at {server_address(started[0])}, serving {args.dispatcher}",
              file=sys.stderr, flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr, flush=True)
        os._exit(EXIT_INTERRUPTED)  # not the server's stop(): its gRPC threads can hang an exit (tensorflow#56490)
