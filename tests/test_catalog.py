"""The one kind catalog: every declared kind has exactly one builder, and its facts are consistent."""
import pytest

from core.engine.feeders import FEEDER_BUILDERS
from core.engine.models import MODEL_BUILDERS
from core.engine.sources import SOURCE_BUILDERS
from core.engine.stages import FILTER_PREDICATES, INTERLEAVE_FUNCTIONS, MAP_FUNCTIONS, STAGE_BUILDERS
from core.spec import kinds
from core.spec.catalog import Batching, Kind, Registry
from core.spec.params import SpecError

BUILDERS = [SOURCE_BUILDERS, STAGE_BUILDERS, FEEDER_BUILDERS, MODEL_BUILDERS]


@pytest.mark.parametrize("builders", BUILDERS, ids=lambda builders: builders.catalog.category)
def test_every_declared_kind_has_one_builder_and_no_builder_lacks_a_declaration(builders):
    assert sorted(builders.names()) == sorted(kind.name for kind in builders.catalog.offered())


def test_a_kind_from_a_watched_script_is_refused_by_name_when_built():
    with pytest.raises(SpecError, match=r"stages\[0\]\.kind: kind 'from_script' is a watched script's own code"):
        STAGE_BUILDERS.build_for("from_script", "stages[0].kind")


def test_the_engine_builds_from_the_catalog_it_was_given():
    assert [builders.catalog for builders in BUILDERS] == [kinds.SOURCES, kinds.STAGES, kinds.FEEDERS, kinds.MODELS]


def test_a_builder_for_an_undeclared_kind_is_refused():
    from core.engine.builders import Builders

    with pytest.raises(ValueError, match="does not declare"):
        Builders(kinds.STAGES).builds("tf_data_servce")


def test_the_functions_a_stage_offers_are_the_functions_the_engine_has():
    declared = {param.name: param.choices for param in kinds.STAGES.get("map", "").params}
    assert set(declared["fn"]) == set(MAP_FUNCTIONS)
    assert set(kinds.STAGES.get("filter", "").param("predicate").choices) == set(FILTER_PREDICATES)
    assert set(kinds.STAGES.get("interleave", "").param("fn").choices) == set(INTERLEAVE_FUNCTIONS)


def test_buffer_parameters_and_batching_are_declared_facts():
    for registry in (kinds.STAGES, kinds.FEEDERS):
        for kind in registry.kinds():
            if kind.buffer_param:
                assert kind.param(kind.buffer_param).type == "int", kind.name
    stages = kinds.STAGES
    assert stages.get("batch", "").batching_for({}) is Batching.MAKES
    assert stages.get("flat_map", "").batching_for({"fn": "unbatch"}) is Batching.UNMAKES
    assert stages.get("flat_map", "").batching_for({"fn": "repeat_element"}) is Batching.KEEPS
    assert all(kind.node_names for kind in stages.offered()), "a stage without node names never gets live figures"


def test_a_kind_is_declared_once():
    registry = Registry("stage")
    registry.add(Kind("x", "help"))
    with pytest.raises(ValueError, match="declared twice"):
        registry.add(Kind("x", "again"))
