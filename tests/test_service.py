"""The tf_data_service stage (issue 17 §2): real servers in processes of their own, owned by the run.

Each test starts a dispatcher and workers (each loads TensorFlow: several seconds on a small machine), so
there are few of them, and each looks at several things. The leak guard fails a test that leaves a process.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from core.engine.feeders import build_feeder
from core.engine.outcome import RunStatus
from core.engine.runner import Run
from core.outputs.codegen.script import generate_script
from core.outputs.summary import build_summary
from core.spec.params import SpecError
from core.spec.pipeline import last_buffer_index, spec_from_dict
from tests.every_stage import every_stage_kind
from tests.terminal import as_from_a_terminal

pytestmark = pytest.mark.usefixtures("leak_guard")
ROOT = Path(__file__).resolve().parents[1]


def with_service(spec, workers=2, before="prefetch", **params):
    """`spec` with a tf_data_service stage just before the stage `before`."""
    data = spec.to_dict()
    index = next(i for i, stage in enumerate(data["stages"]) if stage["id"] == before)
    data["stages"].insert(index, {"id": "service", "kind": "tf_data_service", "workers": workers, **params})
    return spec_from_dict(data)


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def server_pids(figures: dict) -> list[int]:
    return [server["pid"] for server in figures["servers"]]


def test_a_run_on_two_local_workers_counts_each_workers_elements_and_cpu_and_leaves_no_process(whatif):
    spec = with_service(whatif(("stages.io.ms", 1.0), ("stages.io.num_parallel_calls", 2), ("model.step_ms", 2.0),
                               steps=80))
    run = Run(spec)
    outcome = run.run()
    assert outcome.status == RunStatus.FINISHED, outcome.error
    assert len(run.records) == 80
    summary = build_summary(run)
    service = summary["service"]
    assert service["started_here"] and service["dispatcher"].startswith("grpc://localhost:")
    workers = [server for server in service["servers"] if server["name"].startswith("worker")]
    assert [worker["name"] for worker in workers] == ["worker 1", "worker 2"]
    assert sum(worker["elements"] for worker in workers) >= 80  # every batch the model took came from one
    assert all(worker["cpu_s"] > 0 and worker["elements_per_s"] >= 0 for worker in workers), workers
    assert any(worker["elements_per_s"] > 0 for worker in workers), workers  # under load one may join late
    assert service["shutdown_s"] is not None and "no authentication" in service["security"]
    cpu = summary["cpu"]
    assert cpu["service_s"] > 0 and sorted(cpu["processes"]) == sorted(
        f"{server['name']} (pid {server['pid']})" for server in service["servers"])
    assert "the stages before 'service' run on tf.data service workers" in summary["stages_unavailable"]
    assert all(gone(pid) for pid in server_pids(service))


def test_the_pipeline_a_worker_serves_has_the_same_elements_spec_and_its_python_functions(whatif):
    plain = whatif(("source.kind", "generator"), ("stages.io.ms", 0.0))  # from_generator: three Python functions
    feeder = build_feeder(plain, "/CPU:0")
    expected = feeder.element_spec
    feeder.close()
    feeder = build_feeder(with_service(plain, workers=1), "/CPU:0")
    try:
        assert feeder.element_spec == expected
        first = feeder.fetch()
        assert first[0].shape[0] == 32  # a batch the worker made with the generator's own Python
        pids = server_pids(feeder.resources.services.figures())
    finally:
        feeder.close()
    assert len(pids) == 2 and all(gone(pid) for pid in pids)


def test_a_killed_worker_ends_the_run_cleanly_naming_the_worker_and_keeps_the_steps(whatif):
    spec = with_service(whatif(("model.step_ms", 2.0), ("run.seconds", 120.0)), workers=2)
    run = Run(spec)
    ended = threading.Event()
    threading.Thread(target=lambda: (run.run(), ended.set()), daemon=True).start()
    try:
        while len(run.records) < 30:  # the first steps come once the servers have started
            assert not ended.wait(0.1), run.outcome.error
        victim = next(s for s in run.outcome.service["servers"] if s["name"] == "worker 2")
        os.kill(victim["pid"], signal.SIGKILL)
        assert ended.wait(60), "the run did not end after its worker was killed"
    finally:
        run.request_stop()
        ended.wait(60)
    assert run.outcome.status == RunStatus.FAILED
    message = str(run.outcome.error)
    assert re.fullmatch(rf"stage 'service' failed: tf.data service worker 2 \(pid {victim['pid']}, "
                        r"grpc://localhost:\d+\) was killed \(SIGKILL\)", message), message
    assert len(run.records) >= 30 and build_summary(run)["error"] == message
    assert all(gone(pid) for pid in server_pids(run.outcome.service))


def test_a_service_stage_says_what_is_wrong_with_it_before_anything_starts(whatif):
    with pytest.raises(SpecError, match=r"stages\[\d\]\.workers \(stage 'service'\): a service needs workers"):
        with_service(whatif(), workers=0)
    with pytest.raises(SpecError, match=r"stages\[\d\]\.dispatcher .*must be grpc://HOST:PORT"):
        with_service(whatif(), dispatcher="localhost:5050")
    python = with_service(whatif(("source.kind", "generator")), workers=0, dispatcher="grpc://localhost:1")
    with pytest.raises(SpecError, match=r"stages.service.dispatcher: the stages before it call Python"):
        build_feeder(python, "/CPU:0")
    nobody = with_service(whatif(), workers=0, dispatcher="grpc://localhost:1")  # tf.data would wait for ever
    with pytest.raises(SpecError, match=r"stages.service: cannot reach the dispatcher grpc://localhost:1 \("):
        build_feeder(nobody, "/CPU:0")


def test_the_generated_script_serves_its_pipeline_in_process_and_exits_cleanly(whatif, tmp_path):
    spec = with_service(whatif(("stages.io.ms", 0.5), ("stages.io.num_parallel_calls", 2), ("model.step_ms", 1.0)))
    script = tmp_path / "served.py"
    script.write_text(generate_script(spec))
    assert "tf.data.experimental.service.distribute(" in script.read_text()
    result = subprocess.run([sys.executable, "-I", str(script), "--steps", "30", "--warmup", "5"],
                            capture_output=True, text=True, timeout=180, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert re.fullmatch(r"steps_per_s: \d+\.\d+", result.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        return probe.getsockname()[1]


def test_a_worker_from_another_machine_joins_a_runs_dispatcher_by_its_port(whatif, tmp_path):
    """The README's two-machine set-up on one machine: the run starts a dispatcher on a fixed port and no
    worker; `service-worker` joins it, and the run's batches come from that worker."""
    port = free_port()
    spec = with_service(whatif(("model.step_ms", 2.0), steps=40), workers=0, port=port)
    worker = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "service-worker", "--dispatcher",
                               f"grpc://localhost:{port}", "--host", "localhost"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=as_from_a_terminal)
    try:
        run = Run(spec)
        outcome = run.run()
    finally:
        worker.send_signal(signal.SIGINT)
        _, said = worker.communicate(timeout=60)
    assert outcome.status == RunStatus.FINISHED, outcome.error
    assert len(run.records) == 40
    assert run.outcome.service["elements_elsewhere"] >= 40  # none from a worker the run started
    assert "no authentication" in said and f"serving grpc://localhost:{port}" in said, said
    assert worker.returncode == 130 and said.strip().endswith("stopped")


def test_service_worker_says_what_is_wrong_with_its_arguments():
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), "service-worker", "--dispatcher", "host:5050"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: --dispatcher host:5050: must be grpc://HOST:PORT"


def test_every_built_in_stage_kind_before_it_is_shipped_to_a_worker():
    """cpu_work's busy loop is kept alive without a tf.Variable, which a dataset sent to a worker cannot hold;
    branches, a file cache and the sleeps go too."""
    spec = every_stage_kind({"source": {"kind": "generator", "shape": [3], "count": -1}, "stages": []},
                            last=[{"id": "service", "kind": "tf_data_service", "workers": 1},
                                  {"id": "prefetch", "kind": "prefetch_to_device", "buffer_size": 2}])
    feeder = build_feeder(spec, "/CPU:0")
    try:
        batches = [feeder.fetch() for _ in range(3)]
        figures = feeder.resources.services.figures()
    finally:
        feeder.close()
    assert all(batch[0].shape == (8, 4) for batch in batches)  # the range's one feature beside the branch's three
    assert next(s for s in figures["servers"] if s["name"] == "worker 1")["elements"] >= 3


def test_a_server_that_cannot_start_is_named_with_its_own_last_words(whatif):
    with socket.socket() as taken:
        taken.bind(("", 0))
        taken.listen()
        spec = with_service(whatif(), workers=1, port=taken.getsockname()[1])
        with pytest.raises(SpecError, match=r"stages.service: tf.data service dispatcher \(pid \d+\) could not "
                                            r"start \(exited with code 1: .+\)"):
            build_feeder(spec, "/CPU:0")


def test_a_buffer_before_the_service_is_not_the_one_the_model_reads_from(whatif):
    """The fill probe goes where the model's buffer is: not into the pipeline shipped to the workers."""
    spec = whatif()
    data = spec.to_dict()
    data["stages"].append({"id": "service", "kind": "tf_data_service", "workers": 1})
    assert last_buffer_index(spec) == 3 and last_buffer_index(spec_from_dict(data)) is None
    assert last_buffer_index(with_service(spec, before="prefetch")) == 4  # a prefetch after it is
