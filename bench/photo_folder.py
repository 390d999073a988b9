"""A folder of N JPEG photographs cut from a few: for the tuner's image target (`bench/tuner.py --photos`)
where no folder of real photographs is at hand.

Each file is a random crop of 75–100% of each side of one of the source photographs (taken in turn),
mirrored half of the time, at the source's own resolution, saved at JPEG quality 92: real photographic
content, so decoding costs what it costs on photographs, not on smooth generated images.

    python bench/photo_folder.py SOURCE_DIR OUT_DIR [--count 240] [--seed 0]

The issue's case was measured here with the nine colour photographs that ship with scikit-image
(`pip install scikit-image`, then its `skimage/data` folder: astronaut, chelsea, coffee,
hubble_deep_field, ihc, motorcycle_left, motorcycle_right, retina, rocket).
"""
import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

SUFFIXES = (".jpg", ".jpeg", ".png")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("source", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--count", type=int, default=240)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    paths = sorted(p for p in args.source.iterdir() if p.suffix.lower() in SUFFIXES) if args.source.is_dir() else []
    photos = [image for image in (cv2.imread(str(p), cv2.IMREAD_COLOR) for p in paths) if image is not None]
    if not photos:
        sys.exit(f"error: {args.source}: no readable JPEG or PNG photographs there")
    rng = np.random.default_rng(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    for index in range(args.count):
        photo = photos[index % len(photos)]
        height, width = photo.shape[:2]
        crop_h, crop_w = int(height * rng.uniform(0.75, 1.0)), int(width * rng.uniform(0.75, 1.0))
        top, left = rng.integers(0, height - crop_h + 1), rng.integers(0, width - crop_w + 1)
        crop = photo[top:top + crop_h, left:left + crop_w]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        cv2.imwrite(str(args.out / f"photo_{index:03d}.jpg"), np.ascontiguousarray(crop), [cv2.IMWRITE_JPEG_QUALITY, 92])
    print(f"{args.count} photographs from {len(photos)} in {args.out}")


if __name__ == "__main__":
    main()
