#!/usr/bin/env bash
# Set up (first time) and run the whole test suite. GUI tests run offscreen; the scripted app
# also runs on a real X server (Xvfb, installed here when missing: tests/test_real_display.py).
. "$(dirname "${BASH_SOURCE[0]}")/scripts/setup.sh" requirements-test.txt --real-display
cd "$PIPESCOPE_ROOT"
export QT_QPA_PLATFORM=offscreen
exec "$PIPESCOPE_PYTHON" -m pytest "$@"
