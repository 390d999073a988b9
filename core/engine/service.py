"""A `tf_data_service` stage: everything before it runs on tf.data service workers, out of the training process.

With `workers: N` the run starts a dispatcher and N workers, each a process of its own
(`core.engine.service_process`) on ports the system picks, and owns their lifetime: the build enters them in
the feeder's resources, so the run's end (or a what-if rebuild) closes them, and a process whose run died
finds its stdin closed and exits. `dispatcher: grpc://HOST:PORT` uses a running service instead (and adds the
N local workers to it). A local worker that dies is a failure the run reports by name (`failure`), since
tf.data would go on silently with the others, or wait for ever with none.

Each element is tagged in the worker with the worker's process id, and counted per process in the training
process as it arrives (a hash table: no Python on tf.data's threads), so the summary has per-worker elements
beside per-worker CPU (`figures`).
"""
from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from core.engine.tf_runtime import tensorflow
from core.spec.params import SpecError
from core.spec.pipeline import branch_to_dict

PROJECT_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 120.0  # three processes loading TensorFlow at once on a small, busy machine
REACH_TIMEOUT_S = 5.0
CLOSE_WAIT_S = 2.0  # for a server to exit once its stdin is closed, before it is killed
SHARDING = {"off": "OFF", "dynamic": "DYNAMIC", "file": "FILE", "data": "DATA", "file_or_data": "FILE_OR_DATA",
            "hint": "HINT"}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


READY = "pipescope-service-ready "
PYTHON_FUNCTION_OPS = frozenset({"PyFunc", "PyFuncStateless", "EagerPyFunc"})


def python_function_tokens(dataset) -> list[str]:
    """The tokens of the Python functions a dataset's graph calls, in the order they were made."""
    from tensorflow.core.framework import graph_pb2  # deferred: TensorFlow loads only in a run

    graph = graph_pb2.GraphDef()
    graph.ParseFromString(dataset._as_serialized_graph().numpy())
    nodes = [*graph.node, *(node for function in graph.library.function for node in function.node_def)]
    tokens = {node.attr["token"].s.decode() for node in nodes if node.op in PYTHON_FUNCTION_OPS}
    return sorted(tokens, key=_made_at)


def _made_at(token: str) -> int:
    """TensorFlow's tokens are `pyfunc_<n>`, n counting up in each process as functions are made."""
    number = token.rpartition("_")[2]
    return int(number) if number.isdigit() else -1


_KEPT_TO_EXIT: list[int] = []  # descriptors `LocalService.keep_to_exit` holds open


class ServiceError(RuntimeError):
    """A server could not start: says which, and its own last words."""


@dataclass
class Server:
    role: str  # "dispatcher" | "worker"
    index: int  # workers count from 1
    process: subprocess.Popen
    log: Path  # its stderr
    address: str = ""
    cpu_at_ready: float = 0.0  # what loading TensorFlow and starting took: not the pipeline's work

    def ready(self, address: str) -> str:
        self.address, self.cpu_at_ready = address, self._cpu_since_birth() or 0.0
        return address

    @property
    def name(self) -> str:
        return "dispatcher" if self.role == "dispatcher" else f"worker {self.index}"

    def describe(self) -> str:
        where = f", {self.address}" if self.address else ""
        return f"tf.data service {self.name} (pid {self.process.pid}{where})"

    def last_words(self) -> str:
        try:
            lines = [line for line in self.log.read_text(errors="replace").splitlines() if line.strip()]
        except OSError:
            return ""
        return lines[-1].strip() if lines else ""

    def cpu_s(self) -> Optional[float]:
        """Its CPU seconds since it began to serve; None once it is gone."""
        total = self._cpu_since_birth()
        return None if total is None else max(0.0, total - self.cpu_at_ready)

    def _cpu_since_birth(self) -> Optional[float]:
        """User and system CPU seconds from /proc; None once it is gone (its pid may be another's now)."""
        if self.process.poll() is not None:
            return None
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime: fields 14 and 15 of stat


@dataclass
class LocalService:
    """The servers a run started: a dispatcher (unless one was given) and its workers."""

    workers: int
    dispatcher: str = ""  # a running service's; empty: start one
    port: int = 0  # the dispatcher's, when started here; 0: the system picks
    servers: list[Server] = field(default_factory=list)
    target: str = ""
    shutdown_s: Optional[float] = None
    _scratch: Optional[tempfile.TemporaryDirectory] = None
    _closing: bool = False

    def start(self, worker_settings: dict) -> "LocalService":
        self._scratch = tempfile.TemporaryDirectory(prefix="pipescope-service-")
        try:
            if not self.dispatcher:
                self.servers.append(self._spawn("dispatcher", 0))
            workers = [self._spawn("worker", index) for index in range(1, self.workers + 1)]
            self.servers += workers
            deadline = time.monotonic() + START_TIMEOUT_S
            if self.dispatcher:
                self.target = _reachable(self.dispatcher)
            else:
                self._tell(self.servers[0], {"port": self.port})
                self.target = self._wait_ready(self.servers[0], deadline)
            for worker in workers:
                self._tell(worker, worker_settings | {"dispatcher": self.target})
            for worker in workers:
                self._wait_ready(worker, deadline)
        except BaseException:
            self.close()
            raise
        return self

    def _spawn(self, role: str, index: int) -> Server:
        log = Path(self._scratch.name) / f"{role}-{index}.log"
        environment = os.environ | {"PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT),
                                                                                 os.environ.get("PYTHONPATH")]))}
        with open(log, "wb") as errors:
            # A session of its own: the terminal's Ctrl-C is the run's to handle, not the servers'.
            process = subprocess.Popen([sys.executable, "-m", "core.engine.service_process", role],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors,
                                       cwd=PROJECT_ROOT, env=environment, start_new_session=True)
        return Server(role, index, process, log)

    @staticmethod
    def _tell(server: Server, settings: dict) -> None:
        server.process.stdin.write(json.dumps(settings).encode() + b"\n")
        server.process.stdin.flush()

    def _wait_ready(self, server: Server, deadline: float) -> str:
        """Its address, from the line it says once it serves. Read from the pipe's descriptor, unbuffered, so
        that select() sees every byte still to read."""
        descriptor, said = server.process.stdout.fileno(), b""
        while True:
            ready, _, _ = select.select([descriptor], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise ServiceError(f"{server.describe()} did not start within {START_TIMEOUT_S:.0f} s")
            chunk = os.read(descriptor, 4096)
            if not chunk:
                server.process.wait()
                words = server.last_words()
                raise ServiceError(f"{server.describe()} could not start ({_ended(server.process.returncode)}"
                                   f"{': ' + words if words else ''})")
            said += chunk
            for line in said.decode(errors="replace").splitlines(keepends=True):
                if line.startswith(READY) and line.endswith("\n"):
                    return server.ready(line[len(READY):].strip())

    def failure(self) -> Optional[str]:
        """A server that ended while the run needs it, said in one line; None while all are up."""
        if self._closing:
            return None
        for server in self.servers:
            code = server.process.poll()
            if code is not None:
                words = server.last_words()
                return f"{server.describe()} {_ended(code)}{': ' + words if words else ''}"
        return None

    def figures(self, elements_by_pid: dict[int, int]) -> dict:
        """summary.json's `service`: where it is, and each server's CPU seconds and (workers) elements."""
        servers = []
        for server in self.servers:
            figures = {"name": server.name, "pid": server.process.pid, "address": server.address,
                       "cpu_s": _rounded(server.cpu_s())}
            if server.role == "worker":
                figures["elements"] = elements_by_pid.get(server.process.pid, 0)
            servers.append(figures)
        return {"dispatcher": self.target, "started_here": not self.dispatcher, "servers": servers,
                "elements_elsewhere": sum(count for pid, count in elements_by_pid.items()
                                          if pid not in {server.process.pid for server in self.servers})}

    def keep_to_exit(self) -> None:
        """The servers live until this process is gone, whatever Python collects on its way out: their stdin
        stays open in a copy of its descriptor, which only the kernel closes (at the exit)."""
        _KEPT_TO_EXIT.extend(os.dup(server.process.stdin.fileno()) for server in self.servers)

    def close(self) -> None:
        """Close each server's stdin (it exits at once), kill what is still there after CLOSE_WAIT_S."""
        if self._closing:
            return
        self._closing = True
        began = time.monotonic()
        for server in self.servers:
            try:
                server.process.stdin.close()
            except OSError:
                pass
        deadline = began + CLOSE_WAIT_S
        for server in self.servers:
            try:
                server.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(server.process.pid, signal.SIGKILL)
                server.process.wait()
            server.process.stdout.close()
        self.shutdown_s = time.monotonic() - began
        if self._scratch is not None:
            self._scratch.cleanup()


def _reachable(dispatcher: str) -> str:
    """The address, once something answers there: tf.data waits for ever on a dispatcher that is not there."""
    host, _, port = dispatcher.removeprefix("grpc://").rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=REACH_TIMEOUT_S).close()
    except (OSError, ValueError) as error:
        raise ServiceError(f"cannot reach the dispatcher {dispatcher} ({error})") from None
    return dispatcher


def _ended(code: int) -> str:
    if code < 0:
        try:
            return f"was killed ({signal.Signals(-code).name})"
        except ValueError:
            return f"was killed (signal {-code})"
    return f"exited with code {code}"


def _rounded(value: Optional[float]) -> Optional[float]:
    return None if value is None else round(value, 3)


class ElementCounter:
    """Elements as they reach the training process, per process id of the worker that made them."""

    def __init__(self):
        tf = tensorflow()

        self._table = tf.lookup.experimental.MutableHashTable(tf.int64, tf.int64, default_value=0)

    @staticmethod
    def tag(ds):
        """Runs in the worker: each element with the id of the process that made it."""
        tf = tensorflow()

        def tagged(*element):
            stat = tf.io.read_file("/proc/self/stat")  # its first field is the process's id
            return element, tf.strings.to_number(tf.strings.split(stat, " ", maxsplit=1)[0], tf.int64)

        return ds.map(tagged)

    def count(self, ds):
        """Runs in the training process: counts each element by its tag, and takes the tag off."""
        tf = tensorflow()
        table = self._table

        def counted(element, pid):
            with tf.control_dependencies([table.insert(pid, table.lookup(pid) + 1)]):
                element = tf.nest.map_structure(tf.identity, element)
            return element if len(element) > 1 else element[0]

        return ds.map(counted)

    def by_process(self) -> dict[int, int]:
        pids, counts = self._table.export()
        return dict(zip(pids.numpy().tolist(), counts.numpy().tolist()))


class ServiceUse:
    """What a run needs of a service stage's servers while it goes: a failure to report, figures to show;
    closing it keeps the figures as they were just before the servers went."""

    def __init__(self, stage_id: str, service: LocalService, counter: Optional[ElementCounter]):
        self.stage_id, self.service, self.counter = stage_id, service, counter
        self._last: Optional[dict] = None

    def read(self, dataset, worker_settings: dict, policy):
        """Start the servers; `dataset` as read from them, each element counted by the worker that made it."""
        tf = tensorflow()

        self.service.start(worker_settings)
        counter = self.counter
        shipped = counter.tag(dataset) if counter else dataset
        read = shipped.apply(tf.data.experimental.service.distribute(processing_mode=policy,
                                                                     service=self.service.target))
        return counter.count(read) if counter else read

    def failure(self) -> Optional[str]:
        return self.service.failure()

    def figures(self) -> dict:
        if self._last is not None:
            return self._last
        elements = self.counter.by_process() if self.counter is not None else {}
        return {"stage": self.stage_id, **self.service.figures(elements)}

    def close(self) -> None:
        if self._last is not None:
            return
        last = self.figures() if self.service.servers else None
        self.service.close()
        self._last = (last or {"stage": self.stage_id}) | {"shutdown_s": _rounded(self.service.shutdown_s)}


def ship_to_service(ds, params: dict, ctx):
    """The stage's builder: `ds` (everything before the stage) as a dataset read from tf.data service."""
    tf = tensorflow()

    if not isinstance(ctx.resources, BuildResources):
        raise SpecError(f"stages.{ctx.stage_id}: a tf.data service stage runs only in a run, which owns its servers")
    settings = {"upstream": None}
    tokens = python_function_tokens(ds)
    if tokens:
        shared = "dispatcher" if params["dispatcher"] else "port" if params["port"] else None
        if shared:
            raise SpecError(f"stages.{ctx.stage_id}.{shared}: the stages before it call Python (OpenCV, a "
                            "generator, a sleep), which only the workers this run starts can run; workers of "
                            "other machines cannot (decode with TensorFlow's own ops to serve them)")
        settings = {"upstream": branch_to_dict(ctx.upstream), "tokens": tokens, "seed": ctx.seed,
                    "serial": ctx.serial}
    # Elements are counted by the worker's process id (/proc/self/stat) where the run starts the service: its
    # workers are Pipescope's, on Linux; a running service's may be anything.
    use = ServiceUse(ctx.stage_id, LocalService(params["workers"], params["dispatcher"], params["port"]),
                     None if params["dispatcher"] else ElementCounter())
    ctx.resources.callback(use.close)
    policy = getattr(tf.data.experimental.service.ShardingPolicy, SHARDING[params["processing_mode"]])
    try:
        read = use.read(ds, settings, policy)
    except ServiceError as error:
        raise SpecError(f"stages.{ctx.stage_id}: {error}") from None
    ctx.resources.services.append(use)
    return read


def check_shippable(dataset) -> None:
    """Refuses a pipeline that calls a script's own Python: a tf.data service worker is sent its graph only."""
    if python_function_tokens(dataset):
        raise ServiceError("the pipeline calls the script's own Python (py_function, numpy_function or a "
                           "generator), which tf.data service workers cannot run: they are sent its graph only")


def serve_elsewhere(dataset, workers: int, stage_id: str) -> tuple[Any, ServiceUse]:
    """A watched script's whole pipeline moved onto `workers` local tf.data service workers (a what-if
    change): the dataset read from them, and the servers, which the caller closes. A pipeline that calls the
    script's own Python is refused before anything starts: a worker runs the graph, without that Python."""
    tf = tensorflow()

    check_shippable(dataset)
    use = ServiceUse(stage_id, LocalService(workers), ElementCounter())
    try:
        return use.read(dataset, {"upstream": None}, tf.data.experimental.service.ShardingPolicy.OFF), use
    except BaseException:
        use.close()
        raise


class ServiceUses(list):
    """The service stages' servers a run (or a watched job) holds: what failed, their CPU, their figures."""

    def failure(self) -> Optional[tuple[str, str]]:
        """(stage id, what happened) of a service stage whose servers failed; None while all is well."""
        for use in self:
            problem = use.failure()
            if problem:
                return use.stage_id, problem
        return None

    def cpu(self) -> dict[str, float]:
        """CPU seconds of each server still up, by a name that is its own for the run's length."""
        return {f"{server.name} (pid {server.process.pid})": seconds for use in self
                for server in use.service.servers if (seconds := server.cpu_s()) is not None}

    def figures(self) -> Optional[dict]:
        return self[0].figures() if self else None


class BuildResources(ExitStack):
    """What a built pipeline holds beyond its dataset (`BuildContext.resources`), and the services among it."""

    def __init__(self):
        super().__init__()
        self.services = ServiceUses()

    def pop_all(self) -> "BuildResources":
        moved = super().pop_all()
        moved.services, self.services = self.services, ServiceUses()
        return moved
