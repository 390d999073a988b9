"""Sample image folders to profile against: JPEGs written with OpenCV.

Two classes, in subfolders `circle/` and `square/`, so the CNN has something
to learn; `corrupt` files hold bytes no decoder accepts, to exercise failures.
"""
from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path
from typing import Callable, Optional

import numpy as np

CLASSES = ("circle", "square")


def _draw(index: int, width: int, height: int, rng):
    import cv2  # deferred: OpenCV loads only when images are made

    base = rng.integers(0, 256, 3)
    gradient = np.linspace(0.4, 1.0, width, dtype=np.float32)[None, :, None]
    image = (np.ones((height, width, 3), np.float32) * base * gradient).astype(np.uint8)
    noise = rng.integers(0, 40, (height, width, 3), dtype=np.uint8)
    image = cv2.add(image, noise)
    color = tuple(int(c) for c in rng.integers(0, 256, 3))
    cx, cy = int(rng.integers(width // 4, 3 * width // 4)), int(rng.integers(height // 4, 3 * height // 4))
    radius = max(2, min(width, height) // 5)
    if CLASSES[index % 2] == "circle":
        cv2.circle(image, (cx, cy), radius, color, -1)
    else:
        cv2.rectangle(image, (cx - radius, cy - radius), (cx + radius, cy + radius), color, -1)
    return image


def write_sample_images(out: str | Path, count: int, size: tuple[int, int] = (128, 96), corrupt: int = 0,
                        seed: int = 0, progress: Optional[Callable[[int, int], None]] = None) -> list[Path]:
    """Write `count` JPEGs (the last `corrupt` of them unreadable); returns their paths."""
    import cv2  # deferred: OpenCV loads only when images are made

    out = Path(out)
    for name in CLASSES:
        (out / name).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    width, height = size
    written = []
    for index in range(count):
        path = out / CLASSES[index % 2] / f"img_{index:06d}.jpg"
        if index >= count - corrupt:
            path.write_bytes(b"\xff\xd8 this is not a JPEG " + bytes(rng.integers(0, 256, 64, dtype=np.uint8)))
        elif not cv2.imwrite(str(path), _draw(index, width, height, rng)):
            raise OSError(f"{path}: OpenCV could not write the image")
        written.append(path)
        if progress:
            progress(index + 1, count)
    return written


def write_sample_images_once(folder: str | Path, count: int) -> None:
    """Make Pipescope's own sample folder, saying so on stderr in one line.

    Written next to it, then renamed into place: a run stopped halfway leaves no
    half-filled folder that later runs would take as complete.
    """
    folder = Path(folder)
    sys.stderr.write(f"making {count} sample images in {folder} (first use)\n")
    folder.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        write_sample_images(partial, count)
        try:
            partial.rename(folder)
        except OSError:
            if not folder.is_dir():  # else another run made it meanwhile: use theirs
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def stderr_progress(label: str) -> Callable[[int, int], None]:
    """A progress callback that redraws one line on stderr about 50 times in all."""

    def report(done: int, total: int) -> None:
        if done == total or done % max(1, total // 50) == 0:
            end = "\n" if done == total else ""
            sys.stderr.write(f"\r{label}: {done}/{total} ({100 * done // total}%)" + end)
            sys.stderr.flush()

    return report
