#!/usr/bin/env bash
# Set up (first time) and run the whole test suite; GUI tests run offscreen.
. "$(dirname "${BASH_SOURCE[0]}")/scripts/setup.sh" requirements-test.txt
cd "$PIPESCOPE_ROOT"
export QT_QPA_PLATFORM=offscreen
exec "$PIPESCOPE_PYTHON" -m pytest "$@"
