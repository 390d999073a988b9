"""Argument handling shared by the commands: one-line errors, spec resolution."""
from __future__ import annotations

import argparse
import sys

from core.spec.params import SpecError
from core.spec.presets import load_preset
from core.spec.pipeline import PipelineSpec, apply_overrides, length_overrides, load_spec, parse_assignment

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    pass


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad argument is one `error: …` line and exit code 2."""

    def error(self, message):
        raise UsageError(f"{self.prog}: {message}")


def add_global_options(parser: argparse.ArgumentParser, after_command: bool = False) -> None:
    """The options of every command, taken before its name (`main.py --verbose run …`) and after it."""
    # After the name, no default: argparse sets a command's defaults last, which would undo an option
    # given before the name.
    parser.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS if after_command else False,
                        help="let TensorFlow's own start-up log through (oneDNN notes, CUDA probing), "
                             "hidden otherwise")


class CommandParser(OneLineParser):
    """A command's parser (the subparsers' parser class): it takes the global options too."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        add_global_options(self, after_command=True)


def add_spec_arguments(parser: argparse.ArgumentParser, overrides: bool = True) -> None:
    parser.add_argument("spec", nargs="?", metavar="SPEC", help="a pipeline file (JSON)")
    parser.add_argument("--preset", metavar="NAME", help="a preset instead of a file (see `presets`)")
    if overrides:
        parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
                            help="override a value: feeder.<p>, model.<p>, source.<p>, run.<p>, stages.<id>.<p>")


def resolve_spec(args, required: bool = True) -> PipelineSpec | None:
    if args.spec and args.preset:
        raise SpecError("give a pipeline file or --preset, not both")
    if args.preset:
        spec = load_preset(args.preset)
    elif args.spec:
        spec = load_spec(args.spec)
    elif required:
        raise SpecError("SPEC: give a pipeline file or --preset NAME")
    else:
        return None
    assignments = [parse_assignment(text) for text in getattr(args, "overrides", [])]
    return apply_overrides(spec, assignments) if assignments else spec


def with_length(spec: PipelineSpec, option: str, steps=None, seconds=None) -> PipelineSpec:
    """The description run for `option`'s length; a length out of range names the option as typed."""
    try:
        return apply_overrides(spec, length_overrides(steps, seconds))
    except SpecError as error:
        raise SpecError(f"{option}: {error}") from None


def print_error(message: str) -> None:
    sys.stderr.write(f"error: {message}\n")
