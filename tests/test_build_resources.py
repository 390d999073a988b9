"""What a built pipeline holds beyond its dataset (issue 17 §2: the servers a tf.data service stage starts):
the build enters it in the feeder's resources, and the run gives it back when it ends, when a what-if
change rebuilds the pipeline, and when a later stage fails to build."""
import pytest

from core.engine import stages
from core.engine.feeders import build_feeder
from core.engine.runner import Run
from core.spec.params import SpecError


@pytest.fixture
def held(monkeypatch):
    """Each prefetch stage built holds a resource; `held` lists them as they are given back."""
    given_back = []
    builders = stages.STAGE_BUILDERS._functions
    build_prefetch = builders["prefetch"]

    def holding(ds, params, ctx):
        ctx.resources.callback(given_back.append, f"{ctx.stage_id} {params['buffer_size']}")
        return build_prefetch(ds, params, ctx)

    monkeypatch.setitem(builders, "prefetch", holding)
    return given_back


def test_a_run_gives_back_what_its_pipeline_held_when_it_ends_and_when_a_change_rebuilds_it(whatif, held):
    spec = whatif(("feeder.kind", "tf_data"), ("stages.io.ms", 0), ("model.step_ms", 1), steps=40)
    run = Run(spec, scheduled_changes={20: [("stages.prefetch.buffer_size", 2)]})
    run.run()
    assert run.outcome.status == "finished" and len(run.records) == 40
    assert held == ["prefetch 4", "prefetch 2"]  # the first pipeline's at the change, the second's at the end


def test_what_the_stages_took_before_one_failed_to_build_is_given_back(whatif, held, monkeypatch):
    def failing(ds, params, ctx):
        raise SpecError(f"stages.{ctx.stage_id}: cannot be built here")

    monkeypatch.setitem(stages.STAGE_BUILDERS._functions, "cpu_work", failing)
    spec = whatif(("feeder.kind", "tf_data"), ("stages.io.ms", 0), steps=10)
    spec.stages.insert(0, spec.stages.pop(3))  # the holding prefetch first, the failing stage after it
    with pytest.raises(SpecError, match="cannot be built here"):
        build_feeder(spec, "/CPU:0")
    assert held == ["prefetch 4"]
