"""`presets` and `sample-data`: what ships, and data to profile against."""
from __future__ import annotations

import re
import sys

from cli.common import EXIT_OK
from core.spec.params import SpecError
from core.spec.presets import load_preset, preset_names, preset_path
from core.engine.sample_data import stderr_progress, write_sample_images
from core.spec.kinds.stages import stage_label


def add_parsers(subparsers) -> None:
    presets = subparsers.add_parser("presets", help="list presets, or print one as a pipeline file")
    presets.add_argument("--dump", metavar="NAME", help="print this preset's pipeline file")
    presets.set_defaults(handler=presets_command)

    sample = subparsers.add_parser("sample-data", help="write sample data to profile against")
    sample.add_argument("what", choices=["images"], help="what to write")
    sample.add_argument("--count", type=int, required=True, metavar="N", help="number of images")
    sample.add_argument("--size", default="128x96", metavar="WxH", help="image size (default 128x96)")
    sample.add_argument("--corrupt", type=int, default=0, metavar="K", help="of them, K unreadable files")
    sample.add_argument("--out", required=True, metavar="DIR", help="the folder to write")
    sample.set_defaults(handler=sample_data_command)


def presets_command(args) -> int:
    if args.dump:
        sys.stdout.write(preset_path(args.dump).read_text())
        return EXIT_OK
    for name in preset_names():
        spec = load_preset(name)
        chain = " → ".join([spec.source.kind, *(stage_label(s) for s in spec.stages)])
        print(f"{name:18} {chain} | {spec.feeder.kind} | {spec.model.kind}")
    return EXIT_OK


def _parse_size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+)x(\d+)", text)
    if not match or min(int(match.group(1)), int(match.group(2))) < 8:
        raise SpecError(f"--size {text}: expected WxH with both at least 8, e.g. 128x96")
    return int(match.group(1)), int(match.group(2))


def sample_data_command(args) -> int:
    if args.count < 1:
        raise SpecError(f"--count {args.count}: must be ≥ 1")
    if not 0 <= args.corrupt <= args.count:
        raise SpecError(f"--corrupt {args.corrupt}: must be between 0 and --count ({args.count})")
    size = _parse_size(args.size)
    written = write_sample_images(args.out, args.count, size, args.corrupt, progress=stderr_progress("images"))
    print(f"wrote {len(written)} images ({args.corrupt} corrupt) of {size[0]}x{size[1]} to {args.out}")
    return EXIT_OK
