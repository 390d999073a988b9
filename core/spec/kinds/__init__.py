"""The kind catalog: every source, stage, feeder and model kind, each declared once."""
from core.spec.kinds.feeders import FEEDERS
from core.spec.kinds.models import MODELS, SYNC_PARAMS
from core.spec.kinds.sources import SOURCES
from core.spec.kinds.stages import STAGES
from core.spec.kinds.from_script import FROM_SCRIPT  # adds to the registries above

CATALOG = {"source": SOURCES, "stages": STAGES, "feeder": FEEDERS, "model": MODELS}  # by the pipeline file's key
