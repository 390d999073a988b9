"""A run that records no step says why, names the stage holding the first batch, and fails."""
import json

import main
from cli.common import EXIT_FAILED
from core.outputs.run_folder import load_run
from core.outputs.summary import build_summary
from tests.test_stalls import elements_left_in_flight_finish  # noqa: F401 (autouse: the element left behind ends here)


def test_a_run_whose_first_batch_never_comes_names_the_stage_and_fails(capsys, tmp_path):
    out = tmp_path / "out"
    code = main.main(["run", "--preset", "whatif", "--set", "stages.io.ms=4000", "--seconds", "1.5", "--quiet",
                      "--out", str(out)])
    _, err = capsys.readouterr()
    assert code == EXIT_FAILED
    assert err.count("\n") == 1 and err.startswith("error: whatif: no step recorded: the first batch was still "
                                                   "in stage 'io' after 1."), err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 0 and summary["stalls"] == []  # under run.stall_seconds: no stall, still said
    pending = summary["pending_at_end"]
    assert pending["stage"] == "io" and 1.0 <= pending["seconds"] < 4.0
    assert "stage 'io'" in summary["nothing_measured"]
    rebuilt = build_summary(load_run(out))  # `report` tells the same from the records
    assert rebuilt["pending_at_end"] == pending and rebuilt["nothing_measured"] == summary["nothing_measured"]
