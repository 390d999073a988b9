"""Runs end on time while an element is in flight; stalls are recorded naming the stuck stage.

The io stage (`latency`) of `whatif` waits a known time per batch, so a stall
of known length in a known stage is made by construction. Its waits are kept
to a few seconds so that the element left in flight finishes long before the
test process ends.
"""
import threading
import time

import pytest

from core.outputs.summary import build_summary
from core.engine.feeders import PRODUCER_THREAD
from core.engine.runner import STEPPING_THREAD, Run
from core.engine.stalls import Stall, StallWatch
from tests.test_runner import wait_for


@pytest.fixture(autouse=True)
def elements_left_in_flight_finish():
    """The batches these runs leave behind finish within seconds: wait, so no test inherits them."""
    yield
    for thread in threading.enumerate():
        if thread.name.startswith((STEPPING_THREAD, PRODUCER_THREAD)):
            thread.join(timeout=10)
            assert not thread.is_alive(), f"{thread.name} is still making an element"


def stalled_run(whatif, feeder: str, parallel_calls: int = 1) -> Run:
    return Run(whatif(("feeder.kind", feeder), ("stages.io.ms", 3000), ("stages.io.num_parallel_calls", parallel_calls),
                      ("model.step_ms", 1), ("run.seconds", 1.5), ("run.stall_seconds", 0.5)))


@pytest.mark.parametrize("feeder, parallel_calls", [
    ("feed_dict", 1), ("queue_runner", 1), ("tf_data", 1), ("tf_data", 2),
])
def test_a_timed_run_ends_on_time_and_names_the_stalled_stage(whatif, feeder, parallel_calls):
    run = stalled_run(whatif, feeder, parallel_calls)
    run.run()
    ended_after = run.elapsed_s()
    assert run.outcome.status == "finished" and run.outcome.left_in_flight
    # Not the 3 s the element in flight takes: waiting for it would end the run after 3 s, on any host.
    assert 1.5 <= ended_after < 3.0, ended_after
    assert len(run.records) == 0
    (stall,) = run.outcome.stalls
    assert stall.stage == "io" and not stall.ongoing
    # It began with the first request, at the start, and lasted until the run ended (however late a busy
    # host saw the time was up).
    assert stall.t < 0.5 and 1.5 <= stall.t + stall.seconds <= ended_after, (stall, ended_after)
    summary = build_summary(run)
    assert summary["stalls"] == [stall.to_dict()]


def test_a_stop_does_not_wait_for_the_element_in_flight(whatif):
    run = Run(whatif(("stages.io.ms", 3000), ("model.step_ms", 1), ("run.seconds", 60)))
    worker = threading.Thread(target=run.run)
    worker.start()
    wait_for(lambda: run.outcome.status == "running", timeout=30)
    wait_for(lambda: run.outcome.stalls == [] and run.elapsed_s() > 0.3)
    asked = time.monotonic()
    run.request_stop()
    worker.join(5)
    assert not worker.is_alive() and time.monotonic() - asked < 1.0
    assert run.outcome.status == "stopped"


def test_steps_go_on_after_a_stall_ends(whatif):
    run = Run(whatif(("feeder.kind", "tf_data"), ("model.step_ms", 1), ("run.stall_seconds", 0.3), steps=40),
              scheduled_changes={15: [("stages.io.ms", 800)], 16: [("stages.io.ms", 0)]})
    run.run()
    assert run.outcome.status == "finished" and len(run.records) == 40 and not run.outcome.left_in_flight
    assert [stall.stage for stall in run.outcome.stalls] == ["io"]
    # At least the 0.8 s the batch slept; the rebuilt pipeline's start-up comes on top, longer on a slower host.
    assert 0.75 <= run.outcome.stalls[0].seconds < 1.6, run.outcome.stalls


def test_the_watch_opens_one_stall_per_request_and_closes_it_with_its_batch():
    located = []
    watch = StallWatch(1.0, lambda waited: located.append(waited) or "io")
    watch.observe(now=0.5, waiting_since=0.0, last_ready=None)
    assert watch.stalls == []
    watch.observe(now=1.2, waiting_since=0.0, last_ready=None)
    watch.observe(now=2.0, waiting_since=0.0, last_ready=None)
    assert watch.stalls == [Stall(0.0, 2.0, "io", ongoing=True)] and located == [pytest.approx(1.2)]
    watch.observe(now=2.6, waiting_since=None, last_ready=2.4)  # the batch came at 2.4
    assert watch.stalls == [Stall(0.0, 2.4, "io", ongoing=False)]
    watch.observe(now=3.0, waiting_since=2.9, last_ready=2.4)
    watch.end(3.5)
    assert len(watch.stalls) == 1  # the next request waited less than the threshold
