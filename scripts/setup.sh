# Sourced by run.sh and test.sh: system libraries Qt needs, then .venv with a requirements file.
# Usage: . scripts/setup.sh REQUIREMENTS_FILE [--real-display]
#   --real-display: also an X server with Mesa's OpenGL (test.sh tests the app where users run it)
set -e
PIPESCOPE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Shared libraries the PyQt5 wheel's Qt loads (offscreen and X11 platforms), as Debian packages.
QT_SYSTEM_PACKAGES="libgl1 libegl1 libglib2.0-0 libfontconfig1 libfreetype6 libxkbcommon0 libxkbcommon-x11-0
  libdbus-1-3 libx11-xcb1 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0
  libxcb-xinerama0 libxcb-xkb1 libxcb-shape0 libxcb-cursor0 libxcb-xfixes0 fonts-dejavu-core"
# A virtual X server with the OpenGL a desktop with Mesa drivers has (GLX, llvmpipe): offscreen
# rendering hides crashes that only a real display shows (Weston: the same on Wayland).
REAL_DISPLAY_PACKAGES="xvfb weston libwayland-egl1 libgl1-mesa-dri libglx-mesa0 libegl-mesa0"

pipescope_system_libs() {
    command -v dpkg >/dev/null 2>&1 || return 0  # not Debian/Ubuntu: leave it to the user
    local missing=""
    for package in "$@"; do
        dpkg -s "$package" >/dev/null 2>&1 || missing="$missing $package"
    done
    [ -z "$missing" ] && return 0
    echo "setup: installing system packages:$missing" >&2
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >&2
}

# The TensorFlow this machine needs: requirements-gpu.txt (tensorflow[and-cuda]) where nvidia-smi
# answers, else requirements.txt (scripts/tensorflow_requirements.sh decides; PIPESCOPE_GPU=yes|no overrides).
pipescope_tensorflow_requirements() {
    "${BASH:-bash}" "$PIPESCOPE_ROOT/scripts/tensorflow_requirements.sh"
}

pipescope_venv() {
    local requirements="$1"
    local venv="$PIPESCOPE_ROOT/.venv"
    local stamp="$venv/.installed-$(basename "$requirements")"
    local tensorflow
    tensorflow="$(pipescope_tensorflow_requirements)"
    if [ ! -x "$venv/bin/python" ]; then
        echo "setup: creating $venv" >&2
        python3 -m venv "$venv"
    fi
    # Reinstall when a requirements file changed since the last install, or when this machine needs
    # the other TensorFlow (the stamp holds the choice: a GPU added, or a venv moved to another machine).
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$tensorflow" ] \
        || [ -n "$(find "$PIPESCOPE_ROOT" -maxdepth 1 -name 'requirements*.txt' -newer "$stamp")" ]; then
        local files=(-r "$requirements")
        if [ "$tensorflow" != "requirements.txt" ]; then
            files+=(-r "$PIPESCOPE_ROOT/$tensorflow")
            echo "setup: nvidia-smi answers: installing TensorFlow with CUDA ($tensorflow, a few GB)" >&2
        elif [ -f "$stamp" ] && [ "$(cat "$stamp")" = "requirements-gpu.txt" ]; then
            echo "setup: nvidia-smi does not answer here: TensorFlow will use the CPU" >&2
        fi
        echo "setup: installing $(basename "$requirements") (the first time takes a few minutes)" >&2
        "$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip >&2
        "$venv/bin/python" -m pip install -q --disable-pip-version-check "${files[@]}" >&2
        echo "$tensorflow" > "$stamp"
    fi
}

system_packages="$QT_SYSTEM_PACKAGES"
if [ "${2:-}" = "--real-display" ]; then
    system_packages="$system_packages $REAL_DISPLAY_PACKAGES"
fi
pipescope_system_libs $system_packages
pipescope_venv "$PIPESCOPE_ROOT/$1"
PIPESCOPE_PYTHON="$PIPESCOPE_ROOT/.venv/bin/python"
