"""The tuner: a search over a description's settings, one short run per trial, guided by the analysis.

Ask/tell: `ask()` gives the next description to run (or None when the budget is spent or nothing is left
to try), `tell()` takes the run's summary. Whoever runs the trials (the command line, the app) owns the
running; the tuner only decides.

The search is greedy and guided rather than blind. The first trial is the description as given. Each
time a trial beats the best by more than `MIN_GAIN`, the new best is analysed (`analyze(spec, summary)`:
isolated rates, the bottleneck, recommendations with their expected steps/s) and its recommendations
are tried first, most promising first. When they run out, the tuner explores what analysis cannot
price, or priced within its noise: caching the deterministic front of the pipeline (latest position
first, with `repeat` moved after the cache), then more parallelism for each parallel stage and a deeper
buffer, then launching ahead where the model syncs every step, then a doubled batch size (not for the simulated model, whose step ignores the batch). The objective is examples/s
(images/s for an image pipeline): a bigger batch is worth trying only because it does not count steps.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

from core.analysis.bottleneck import MAX_PARALLEL_CALLS
from core.spec.edits import cache_positions, with_cache_after
from core.spec.kinds import FEEDERS, STAGES
from core.spec.params import AUTOTUNE, SpecError
from core.spec.pipeline import PipelineSpec, apply_overrides, buffer_setting, parse_assignment

# A trial must beat the best by this much to become it: trials of a few seconds on a shared 2-core host
# differ by up to ~20% run to run (the seed's model-bound trials with a prefetch change that does nothing).
MIN_GAIN = 0.10
MAX_BATCH_SIZE = 4096


@dataclass(frozen=True)
class Move:
    """One change to the best description so far: a value (`PATH=VALUE`) or a cache placement."""
    description: str
    why: str
    cache_after: Optional[str] = None  # the stage id a cache goes after; else `description` is PATH=VALUE

    def after(self, moves: tuple[str, ...]) -> tuple[str, ...]:
        """`moves` then this one, which replaces an earlier move of the same value (batch 256, then 512)."""
        if self.cache_after is not None:
            return (*moves, self.description)
        path = parse_assignment(self.description)[0]
        return (*(m for m in moves if "=" not in m or parse_assignment(m)[0] != path), self.description)

    def apply(self, spec: PipelineSpec) -> PipelineSpec:
        if self.cache_after is not None:
            return with_cache_after(spec, self.cache_after)
        return apply_overrides(spec, [parse_assignment(self.description)])


@dataclass
class Trial:
    number: int
    spec: PipelineSpec
    moves: tuple[str, ...]  # the moves from the description as given to this one (a value's latest only)
    why: str
    summary: Optional[dict] = None
    error: Optional[str] = None
    improved: bool = False

    @property
    def objective(self) -> float:
        if self.error or not self.summary:
            return 0.0
        return float(self.summary.get("examples_per_s") or 0.0)


@dataclass
class Tuner:
    spec: PipelineSpec
    budget: int
    analyze: Callable[[PipelineSpec, dict], dict]
    trials: list[Trial] = field(default_factory=list)
    best: Optional[Trial] = None
    analyses: list[dict] = field(default_factory=list)
    _queue: list[Move] = field(default_factory=list)
    _explored: bool = False
    _tried: set = field(default_factory=set)
    _pending: Optional[Trial] = None

    def ask(self) -> Optional[Trial]:
        if self._pending is not None:
            raise RuntimeError("ask() before the last trial was told")
        if len(self.trials) >= self.budget:
            return None
        if self.best is None:  # nothing to start from when the description as given failed
            return None if self.trials else self._propose(self.spec, (), "the description as given")
        while True:
            move = self._next_move()
            if move is None:
                return None
            try:
                candidate = move.apply(self.best.spec)
            except SpecError:  # a value out of this description's range: nothing to try there
                continue
            if _key(candidate) not in self._tried:
                return self._propose(candidate, move.after(self.best.moves), move.why)

    def tell(self, trial: Trial, summary: Optional[dict], error: Optional[str] = None) -> None:
        if trial is not self._pending:
            raise RuntimeError("tell() for a trial that was not asked for")
        self._pending = None
        trial.summary, trial.error = summary, error
        self.trials.append(trial)
        if error is None and (self.best is None or trial.objective > self.best.objective * (1 + MIN_GAIN)):
            trial.improved = True
            self.best = trial
            self._follow_analysis(trial)

    # ------------------------------------------------------------ choosing moves

    def _propose(self, spec: PipelineSpec, moves: tuple, why: str) -> Trial:
        self._tried.add(_key(spec))
        self._pending = Trial(len(self.trials) + 1, spec, moves, why)
        return self._pending

    def _follow_analysis(self, trial: Trial) -> None:
        """The new best's recommendations go first; exploring starts over from it."""
        analysis = self.analyze(trial.spec, trial.summary)
        self.analyses.append(analysis)
        recommended = [Move(r["change"], f"analysis: {r['text']} (expected {r['expected_steps_per_s']:.0f} steps/s)")
                       for r in analysis.get("recommendations", [])]
        self._queue = recommended
        self._explored = False

    def _next_move(self) -> Optional[Move]:
        if not self._queue and not self._explored:
            self._explored = True
            self._queue = exploring_moves(self.best.spec)
        return self._queue.pop(0) if self._queue else None


def exploring_moves(spec: PipelineSpec) -> list[Move]:
    """What analysis cannot price, most promising first: a cache, more parallelism, a deeper buffer,
    a bigger batch."""
    moves = [Move(f"cache after {stage_id}", "explore: make the deterministic front once, then read it from memory",
                  cache_after=stage_id) for stage_id in cache_positions(spec)[:2]]
    for stage in spec.stages:
        kind = STAGES.get(stage.kind, "kind")
        calls = stage.params.get(kind.parallel_param) if kind.parallel_param else None
        if isinstance(calls, int) and calls < MAX_PARALLEL_CALLS:
            more = min(2 * calls, MAX_PARALLEL_CALLS)
            moves.append(Move(f"stages.{stage.id}.{kind.parallel_param}={more}", "explore: more calls in flight"))
    moves.extend(_buffer_moves(spec))
    moves.extend(_sync_moves(spec))
    moves.extend(_batch_moves(spec))
    return moves


def _sync_moves(spec: PipelineSpec) -> list[Move]:
    """Launching ahead, where the model waits for every step: the analysis prices it from the model alone
    timed both ways, and a gain of a few per cent can drown in those two short runs' noise."""
    if spec.model.params.get("sync") != "every_step":
        return []
    return [Move("model.sync=window", "explore: take the next batch while the model runs (launch ahead)")]


def _buffer_moves(spec: PipelineSpec) -> list[Move]:
    """A deeper buffer before the model, and one more producer where the feeder has its own threads."""
    moves = []
    setting = buffer_setting(spec)
    if setting is not None and setting[1] != AUTOTUNE:
        path, size = setting
        moves.append(Move(f"{path}={max(2, 2 * size)}", "explore: a deeper buffer"))
    feeder_param = FEEDERS.get(spec.feeder.kind, "feeder.kind").parallel_param
    if feeder_param:
        moves.append(Move(f"feeder.{feeder_param}={spec.feeder.params[feeder_param] + 1}",
                          "explore: one more producer thread"))
    return moves


def _batch_moves(spec: PipelineSpec) -> list[Move]:
    """Twice the batch, where a step's cost follows the batch: the simulated model's step takes step_ms
    whatever it is given, so there every bigger batch would look like free examples."""
    batches = [stage for stage in spec.stages if stage.kind in ("batch", "padded_batch")]
    if spec.model.kind == "simulated" or len(batches) != 1 or batches[0].params["batch_size"] * 2 > MAX_BATCH_SIZE:
        return []
    stage = batches[0]
    return [Move(f"stages.{stage.id}.batch_size={2 * stage.params['batch_size']}",
                 "explore: twice the batch (per-batch costs spread over more examples)")]


def _key(spec: PipelineSpec) -> str:
    return spec.to_json()
