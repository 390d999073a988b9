#!/usr/bin/env bash
# Set up (first time) and start Pipescope. Arguments go to main.py:
#   ./run.sh                                   the desktop app
#   ./run.sh run --preset seed_feed_dict       a headless profiling run
. "$(dirname "${BASH_SOURCE[0]}")/scripts/setup.sh" requirements.txt
exec "$PIPESCOPE_PYTHON" "$PIPESCOPE_ROOT/main.py" "$@"
