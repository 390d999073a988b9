"""The device's own busy time: the union of what a capture shows the device doing, beside the host's view."""
import pytest

from core.engine.device_capture import busy_ns
from core.outputs.summary import build_summary
from core.engine.runner import Run

US = 1_000_000  # ps


def space_with(planes):
    """An XSpace of `{plane: {line: [(name, offset_us, duration_us), ...]}}`, as tf.profiler writes it."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    space = xplane_pb2.XSpace()
    for plane_name, lines in planes.items():
        plane = space.planes.add(name=plane_name)
        ids = {}
        for line_name, events in lines.items():
            line = plane.lines.add(name=line_name, timestamp_ns=1_000)
            for name, offset_us, duration_us in events:
                metadata_id = ids.setdefault(name, len(ids) + 1)
                plane.event_metadata[metadata_id].name = name
                line.events.add(metadata_id=metadata_id, offset_ps=offset_us * US, duration_ps=duration_us * US)
    return space


def test_gpu_busy_time_is_the_union_of_kernels_on_all_streams_without_copies():
    space = space_with({"/device:GPU:0": {
        "Stream #7(Compute)": [("volta_sgemm", 0, 100), ("relu_kernel", 150, 50)],
        "Stream #9(Compute)": [("reduce_kernel", 80, 40)],  # overlaps the sgemm by 20 µs
        "Stream #13(MemcpyH2D)": [("MemcpyH2D", 300, 500)],  # transfer, not compute
        "Steps": [("step 1", 0, 1000)],  # a derived line, not the device's work
    }, "/device:GPU:1": {"Stream #7": [("other_card", 0, 999)]}})
    assert busy_ns(space, "/GPU:0") == pytest.approx((120 + 50) * 1000)
    assert busy_ns(space, "/GPU:1") == pytest.approx(999 * 1000)
    assert busy_ns(space, "/GPU:2") is None


def test_cpu_busy_time_counts_the_ops_on_inter_op_threads_only():
    space = space_with({"/host:CPU": {
        "tf_Compute/1": [("MatMul:MatMul", 0, 100), ("ExecutorState::Process", 0, 400), ("Relu:Relu", 90, 30)],
        "tf_Compute/2": [("Sum:Sum", 200, 10)],
        "tf_data_private_threadpool/3": [("Cast:Cast", 0, 1000)],  # the input pipeline's
        "python": [("EagerExecute", 0, 1000)],
    }})
    assert busy_ns(space, "/CPU:0") == pytest.approx((120 + 10) * 1000)
    assert busy_ns(space_with({}), "/CPU:0") is None


def test_a_real_capture_measures_the_model_and_sets_it_beside_the_host_view(whatif):
    run = Run(whatif(("model.kind", "mlp"), ("model.hidden", [256]), ("run.capture_steps", 5), steps=30))
    run.run()
    sync = build_summary(run)["sync"]
    assert run.outcome.status == "finished"
    assert sync["captured_steps"] == [20, 25] and "tf.profiler" in sync["device_busy"]
    # The ops run inside the host's compute; a small model's step is mostly the host's launching.
    assert 0 < sync["device_busy_ms"] <= sync["host_compute_ms_captured"]
    assert sync["device_busy_share"] == pytest.approx(sync["device_busy_ms"] / sync["host_compute_ms_captured"],
                                                      abs=1e-3)


def test_no_capture_for_the_simulated_model_or_when_switched_off(whatif):
    for assignments, reason in [((), "simulated model"), ((("model.kind", "mlp"), ("model.hidden", [16]),
                                                           ("run.capture_steps", 0)), "is 0")]:
        run = Run(whatif(*assignments, steps=25))
        run.run()
        sync = build_summary(run)["sync"]
        assert sync["device_busy_ms"] is None and reason in sync["device_busy"], sync
