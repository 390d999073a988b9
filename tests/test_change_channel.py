"""The app's what-if changes to a watched script through its run folder (core.experiments.change_channel):
written a line a request, read whole lines only, handed to the job on a thread that never takes it down."""
from __future__ import annotations

import json
import os
import stat
import time

from core.engine.live_changes import ChangeRequest
from core.experiments.change_channel import CHANGES_JSONL, ChangePoller, ChangeReader, ChangeWriter


def test_requests_are_json_lines_read_once_each_in_order(tmp_path):
    writer, reader = ChangeWriter(tmp_path), ChangeReader(tmp_path)
    assert reader.new_requests() == []  # nothing sent yet: no file
    assert writer.send(["stages.io.num_parallel_calls=2"]) == 1
    assert writer.send(["stages.io.num_parallel_calls=\"AUTOTUNE\"", "stages.prefetch.buffer_size=4"],
                       allow_data_restart=True) == 2
    first, second = reader.new_requests()
    assert (first.id, first.assignments, first.allow_data_restart, first.problem) == \
        (1, ("stages.io.num_parallel_calls=2",), False, None)
    assert second.change_request() == ChangeRequest(0, (("stages.io.num_parallel_calls", "AUTOTUNE"),
                                                        ("stages.prefetch.buffer_size", 4)), True)
    assert reader.new_requests() == []  # read once
    writer.send(["stages.io.buffer_size=8"])
    assert [request.id for request in reader.new_requests()] == [3]
    path = tmp_path / CHANGES_JSONL
    assert json.loads(path.read_text().splitlines()[0]) == {
        "allow_data_restart": False, "assignments": ["stages.io.num_parallel_calls=2"], "id": 1}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # the user's own


def test_a_line_still_being_written_is_read_once_it_ends(tmp_path):
    reader = ChangeReader(tmp_path)
    line = json.dumps({"id": 1, "assignments": ["stages.io.num_parallel_calls=2"], "allow_data_restart": False})
    with open(tmp_path / CHANGES_JSONL, "ab") as file:
        file.write(line[:20].encode())
        file.flush()
        assert reader.new_requests() == [] and reader.offset == 0
        file.write(f"{line[20:]}\n".encode())
    assert [request.assignments for request in reader.new_requests()] == [("stages.io.num_parallel_calls=2",)]


def test_lines_there_before_the_script_started_are_not_its_own(tmp_path):
    old = ChangeWriter(tmp_path)
    old.send(["stages.io.num_parallel_calls=2"])  # a folder used again
    reader = ChangeReader(tmp_path)
    writer = ChangeWriter(tmp_path)
    assert writer.send(["stages.io.num_parallel_calls=3"]) == 2  # numbered after those already there
    assert [request.id for request in reader.new_requests()] == [2]
    os.remove(tmp_path / CHANGES_JSONL)  # made again, shorter: all of it is new
    ChangeWriter(tmp_path).send(["stages.io.num_parallel_calls=4"])
    assert [request.id for request in reader.new_requests()] == [1]


def test_the_poller_hands_requests_to_the_job_and_refuses_lines_that_are_not_requests(tmp_path, leak_guard):
    added, refused, said = [], [], []
    poller = ChangePoller(tmp_path, added.append, refused.append, said.append).start()
    try:
        writer = ChangeWriter(tmp_path)
        writer.send(["stages.io.num_parallel_calls=2"])
        with open(tmp_path / CHANGES_JSONL, "a") as file:
            file.write("not json\n")
            file.write(json.dumps({"id": 7, "assignments": ["no equals sign"]}) + "\n")
        writer.send(["stages.io.buffer_size=4"], allow_data_restart=True)
        deadline = time.monotonic() + 10
        while len(added) + len(refused) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        poller.stop()
    assert added == [ChangeRequest(0, (("stages.io.num_parallel_calls", 2),)),
                     ChangeRequest(0, (("stages.io.buffer_size", 4),), True)]
    assert len(refused) == 2 and all("refused" in line and "the job trains on" in line for line in refused)
    assert refused[0].startswith("change request None from the app (with nothing to change) refused: not a JSON line")
    assert refused[1].startswith("change request 7 from the app (no equals sign) refused: ")
    assert "expected PATH=VALUE" in refused[1]
    assert said == [f"pipescope: {line}" for line in refused]


def test_a_file_that_cannot_be_read_is_said_once_and_the_poller_ends(tmp_path, leak_guard):
    said = []
    (tmp_path / "elsewhere").write_text("")
    os.symlink(tmp_path / "elsewhere", tmp_path / CHANGES_JSONL)  # never followed through a link
    poller = ChangePoller(tmp_path, lambda request: None, lambda line: None, said.append).start()
    deadline = time.monotonic() + 10
    while not said and time.monotonic() < deadline:
        time.sleep(0.05)
    poller.stop()
    assert len(said) == 1 and "cannot be read" in said[0] and "the job trains on without them" in said[0]
