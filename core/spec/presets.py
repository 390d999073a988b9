"""Presets: pipeline files shipped in resources/presets."""
from __future__ import annotations

from pathlib import Path

from core.spec.params import SpecError
from core.spec.pipeline import PipelineSpec, load_spec

PRESET_DIR = Path(__file__).resolve().parents[2] / "resources" / "presets"


def preset_names() -> list[str]:
    return sorted(path.stem for path in PRESET_DIR.glob("*.json"))


def preset_path(name: str) -> Path:
    path = PRESET_DIR / f"{name}.json"
    if not path.is_file():
        raise SpecError(f"--preset {name}: unknown preset (known: {', '.join(preset_names())})")
    return path


def load_preset(name: str) -> PipelineSpec:
    return load_spec(preset_path(name))
