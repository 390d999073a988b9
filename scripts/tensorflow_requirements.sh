#!/usr/bin/env bash
# Prints which TensorFlow requirements file this machine needs, relative to the project root:
#   requirements-gpu.txt  when nvidia-smi answers (runs and exits 0): tensorflow[and-cuda],
#                         whose CUDA libraries let TensorFlow use the NVIDIA GPU
#   requirements.txt      elsewhere: plain tensorflow (on Linux it loads no CUDA: CPU only)
# PIPESCOPE_GPU=yes|no overrides the probe (e.g. building an image on a machine without the card).
# Used by scripts/setup.sh; only builtins besides nvidia-smi and timeout, so tests can fake both.
case "${PIPESCOPE_GPU:-}" in
    yes) echo requirements-gpu.txt; exit 0 ;;
    no) echo requirements.txt; exit 0 ;;
esac
if command -v nvidia-smi >/dev/null 2>&1; then
    if command -v timeout >/dev/null 2>&1; then
        timeout 20 nvidia-smi >/dev/null 2>&1 && { echo requirements-gpu.txt; exit 0; }
    else
        nvidia-smi >/dev/null 2>&1 && { echo requirements-gpu.txt; exit 0; }
    fi
fi
echo requirements.txt
