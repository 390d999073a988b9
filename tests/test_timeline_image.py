"""timeline.png drawn without Qt: real files of the requested size, the app's colours, any number of steps."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from core.outputs.busy_band import BAND_ROWS
from core.outputs.palette import BUSY_COLOR, COMPUTE_COLOR, IDLE_COLOR, WAIT_COLOR
from core.outputs.timeline import render_timeline_png, timeline_figure
from core.spec.records import BATCH_SIZE, COLUMNS, CONFIG_VERSION, FILL, T_DONE, T_FETCHED, T_READY, T_REQUEST

ROOT = Path(__file__).resolve().parent.parent


def synthetic_rows(steps: int, input_s=0.0008, transfer_s=0.0001, compute_s=0.006, between_s=0.0003,
                   jitter=0.0, change_at=None, input_after_change_s=None, warmup_steps=0, seed=0) -> np.ndarray:
    """Step records laid end to end as the runner writes them: between, input, copy, compute."""
    rng = np.random.default_rng(seed)
    input_time = np.full(steps, input_s)
    if change_at is not None:
        input_time[change_at:] = input_after_change_s
    input_time = input_time * rng.lognormal(0.0, jitter, steps) if jitter else input_time
    compute = compute_s * (rng.lognormal(0.0, jitter, steps) if jitter else np.ones(steps))
    compute[:warmup_steps] *= 15  # tracing and first allocations make warm-up steps slow
    durations = np.column_stack((np.full(steps, between_s), input_time, np.full(steps, transfer_s), compute))
    ends = np.cumsum(durations.ravel()).reshape(steps, 4)
    rows = np.zeros((steps, len(COLUMNS)))
    rows[:, T_REQUEST], rows[:, T_FETCHED], rows[:, T_READY], rows[:, T_DONE] = ends.T
    # A prefetch buffer of 4 that stays nearly full while input keeps up and runs dry once it does not.
    keeps_up = input_time + transfer_s < compute
    rows[:, FILL] = np.where(keeps_up, 4 - (rng.random(steps) < 0.2), rng.integers(0, 2, steps))
    rows[:, CONFIG_VERSION] = 0 if change_at is None else (np.arange(steps) >= change_at)
    rows[:, BATCH_SIZE] = 32
    return rows


def distinct_colours(image: np.ndarray) -> int:
    rgb = np.round(image[..., :3] * 255).astype(np.int64)
    return len(np.unique(rgb[..., 0] << 16 | rgb[..., 1] << 8 | rgb[..., 2]))


def pixels_near(image: np.ndarray, color, tolerance=12) -> int:
    """How many pixels of an RGB(A) image read back as floats are within `tolerance` of `color`."""
    rgb = np.round(image[..., :3] * 255)
    return int((np.abs(rgb - np.array(color)).max(axis=2) <= tolerance).sum())


def test_the_png_has_the_requested_size_and_the_apps_colours(tmp_path):
    rows = synthetic_rows(2000, jitter=0.3, change_at=1000, input_after_change_s=0.004, warmup_steps=20)
    path = tmp_path / "timeline.png"
    render_timeline_png(path, rows, capacity=4, change_times=[float(rows[1000, T_REQUEST])], title="whatif",
                        size=(1400, 900), warmup_steps=20, headline="whatif — 2,000 steps")
    image = imread(path)
    assert image.shape[:2] == (900, 1400)
    assert distinct_colours(image) > 20  # not a blank page
    for color in (BUSY_COLOR, IDLE_COLOR, WAIT_COLOR, COMPUTE_COLOR):
        assert pixels_near(image, color) > 50, color


def test_other_sizes_are_honoured(tmp_path):
    path = tmp_path / "small.png"
    render_timeline_png(path, synthetic_rows(300), capacity=4, size=(640, 480))
    assert imread(path).shape[:2] == (480, 640)


@pytest.mark.parametrize("steps", [0, 1])
def test_no_steps_or_one_step_still_makes_an_image(tmp_path, steps):
    path = tmp_path / "timeline.png"
    rows = synthetic_rows(steps) if steps else np.zeros((0, len(COLUMNS)))
    render_timeline_png(path, rows, capacity=4, change_times=[0.5], title="empty", warmup_steps=10)
    assert imread(path).shape[:2] == (900, 1400)


def test_a_million_steps_are_thinned_to_the_pixels_and_the_band_reads_true(tmp_path):
    rows = synthetic_rows(1_000_000, input_s=0.0004, transfer_s=0.0, compute_s=0.0006, between_s=0.0)  # 40% idle
    figure = timeline_figure(rows, capacity=4, warmup_steps=20)
    fill_axes, step_axes, band_axes = figure.axes
    widest_curve = max(len(line.get_xdata()) for axes in (fill_axes, step_axes) for line in axes.get_lines())
    assert widest_curve < 2 * 1400  # at most two points per pixel column, not a million
    band = band_axes.get_images()[0].get_array()
    assert band.shape[0] == BAND_ROWS
    red_share = (np.asarray(band) == IDLE_COLOR).all(axis=2).mean(axis=0)
    assert np.allclose(red_share, 0.4, atol=1.5 / BAND_ROWS)
    path = tmp_path / "million.png"
    figure.savefig(path, format="png", dpi=figure.dpi)
    assert imread(path).shape[:2] == (900, 1400)


def test_dollar_signs_and_underscores_in_names_are_text_not_math(tmp_path):
    path = tmp_path / "timeline.png"
    render_timeline_png(path, synthetic_rows(50), title="cost_$5 vs $10", headline="a $ b_c $")
    assert path.stat().st_size > 0


def test_drawing_the_timeline_imports_no_qt_and_no_pyplot(tmp_path):
    code = (
        "import sys\n"
        "import numpy as np\n"
        "from core.outputs.timeline import render_timeline_png\n"
        f"rows = np.array({synthetic_rows(3).tolist()!r})\n"
        f"render_timeline_png({str(tmp_path / 'timeline.png')!r}, rows, capacity=4, change_times=[0.008])\n"
        "qt = ('PyQt5', 'PyQt6', 'PySide2', 'PySide6', 'pyqtgraph', 'gui')\n"
        "loaded = [name for name in sys.modules if name.split('.')[0] in qt\n"
        "          or name == 'matplotlib.pyplot' or name.startswith('matplotlib.backends.backend_qt')]\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
