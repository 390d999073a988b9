"""Child processes started as from a terminal, wherever the suite itself was started."""
from __future__ import annotations

import signal


def as_from_a_terminal() -> None:
    """A `preexec_fn`: Ctrl-C back to its default. A shell starts a background job (`./test.sh &`) with SIGINT
    ignored, and every process it starts inherits that, so a test's Ctrl-C would reach no one."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
