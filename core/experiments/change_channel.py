"""The app's what-if changes to a watched script (issue 16 §6): a file in the job's own run folder.

The app (`core.experiments.watched_run`) appends each request to `changes.jsonl` as one JSON line:

    {"allow_data_restart": false, "assignments": ["stages.slow_read.num_parallel_calls=2"], "id": 1}

in a single write() to the file opened for appending. The script's process
(`core.experiments.watch_child`) reads the lines added since its last look, a few times a second on
a thread of its own (`ChangePoller`), and hands each request to the job's live changes, which make it
at the training data's next step boundary. A reader takes whole lines only: one still being written
waits for its end. Nothing listens on a network: the run folder is the channel, the file is the
user's own (mode 0600) and never followed through a link. Lines already in the file when the
script's process starts are not its own (a folder used again): the reader begins at the end.
"""
from __future__ import annotations

import json
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from core.engine.live_changes import ChangeRequest
from core.spec.params import SpecError
from core.spec.pipeline import parse_assignment

CHANGES_JSONL = "changes.jsonl"
LOOK_EVERY_S = 0.2
POLLER_THREAD = "pipescope-change-channel"
_OPEN_FLAGS = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


@dataclass(frozen=True)
class AppRequest:
    """One line of the file: a request, or why it cannot be one (`problem`)."""

    id: Optional[int]
    assignments: tuple[str, ...] = ()
    allow_data_restart: bool = False
    problem: Optional[str] = None

    def change_request(self) -> ChangeRequest:
        """Made at the training data's next step boundary (SpecError for an assignment that is not PATH=VALUE)."""
        return ChangeRequest(0, tuple(parse_assignment(text) for text in self.assignments), self.allow_data_restart)

    def refusal(self, reason: str) -> str:
        """The run's warning for a request the job cannot take (the app counts it as answered)."""
        texts = " ".join(self.assignments) or "with nothing to change"
        return f"change request {self.id} from the app ({texts}) refused: {reason}; the job trains on"


class ChangeWriter:
    """The app's side: appends requests, numbered from 1 after those already in the file."""

    def __init__(self, folder):
        self.path = Path(folder) / CHANGES_JSONL
        self._next_id: Optional[int] = None

    def send(self, assignments: list[str], allow_data_restart: bool = False) -> int:
        """Append one request (OSError when the folder cannot be written); its id."""
        if self._next_id is None:
            self._next_id = _lines_in(self.path) + 1
        request_id = self._next_id
        line = json.dumps({"id": request_id, "assignments": list(assignments),
                           "allow_data_restart": bool(allow_data_restart)}, sort_keys=True) + "\n"
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | _OPEN_FLAGS, 0o600)
        try:
            data = line.encode()
            while data:  # one write for a line this short; the loop only guards a partial one
                data = data[os.write(descriptor, data):]
        finally:
            os.close(descriptor)
        self._next_id += 1
        return request_id


class ChangeReader:
    """The script's side: the whole lines added since the last look."""

    def __init__(self, folder, from_start: bool = False):
        self.path = Path(folder) / CHANGES_JSONL
        self.offset = 0 if from_start else _size(self.path)

    def new_requests(self) -> list[AppRequest]:
        """The requests written since the last look (OSError when the file cannot be read)."""
        try:
            descriptor = os.open(self.path, os.O_RDONLY | _OPEN_FLAGS)
        except FileNotFoundError:
            self.offset = 0  # none sent yet
            return []
        with os.fdopen(descriptor, "rb") as file:
            if os.fstat(file.fileno()).st_size < self.offset:
                self.offset = 0  # the file was made again: all of it is new
            file.seek(self.offset)
            text = file.read()
        whole = text[: text.rfind(b"\n") + 1]  # a line still being written is read once it ends
        self.offset += len(whole)
        return [_request_from(line) for line in whole.splitlines() if line.strip()]


class ChangePoller:
    """In the script's process: a thread that hands the app's requests to `add` a few times a second.
    It never takes the script down: a line that is not a request is refused through `refuse` (a run
    warning) and said in one line; a file that cannot be read is said once, and the job trains on."""

    def __init__(self, folder, add: Callable[[ChangeRequest], None], refuse: Callable[[str], None],
                 say: Callable[[str], None] = lambda line: sys.stderr.write(line + "\n")):
        self.reader = ChangeReader(folder)
        self.add, self.refuse, self.say = add, refuse, say
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def start(self) -> "ChangePoller":
        self._thread = threading.Thread(target=self._keep_looking, name=POLLER_THREAD, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop looking (a request read after this is not made: the job has ended)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def look(self) -> None:
        for request in self.reader.new_requests():
            try:
                if request.problem is not None:
                    raise SpecError(request.problem)
                self.add(request.change_request())
            except SpecError as error:
                line = request.refusal(str(error))
                self.refuse(line)
                self.say(f"pipescope: {line}")

    def _keep_looking(self) -> None:
        while not self._stop.wait(LOOK_EVERY_S):
            try:
                self.look()
            except Exception as error:  # the script goes on; only the app's changes stop reaching it
                self.say(f"pipescope: the app's changes in {self.reader.path} cannot be read ({error}); "
                         "the job trains on without them")
                return


def _request_from(line: bytes) -> AppRequest:
    try:
        data = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return AppRequest(None, problem=f"not a JSON line ({error})")
    if not isinstance(data, dict):
        return AppRequest(None, problem="not a JSON object")
    request_id, assignments, allow = data.get("id"), data.get("assignments"), data.get("allow_data_restart", False)
    if not isinstance(assignments, list) or not assignments or not all(isinstance(text, str) for text in assignments):
        return AppRequest(request_id, problem="its assignments are not a list of PATH=VALUE strings")
    if not isinstance(allow, bool):
        return AppRequest(request_id, tuple(assignments), problem="allow_data_restart is not true or false")
    return AppRequest(request_id, tuple(assignments), allow)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _lines_in(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0
