#!/usr/bin/env bash
# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
# Sets up everything gr-eeamc needs, on Debian 12 or Ubuntu 22.04/24.04, and is quick when nothing
# changed (every step checks first):
#   1. system packages (GNU Radio, CMake, a C++ compiler for CMake's checks, venv, espeak-ng), via apt
#   2. .venv: a virtual environment over /usr/bin/python3 that sees the system's GNU Radio
#   3. pip packages from requirements.txt, re-run only when that file changes
#   4. the CMake build in build/, installed into the venv (prefix = .venv): the Python package and
#      eeamc_native, the C++ extension that builds the blocks' tags and messages (pybind11)
#   5. the checkout's training package on the venv's path (a .pth file), so that scripts, benchmarks
#      and examples import `training` and the installed `gnuradio.eeamc` with no path code of their own
# Environment: EEAMC_VENV (default .venv) and EEAMC_BUILD (default build) move those folders.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${EEAMC_VENV:-$ROOT/.venv}"
BUILD="${EEAMC_BUILD:-$ROOT/build}"
# The Python GNU Radio's Debian/Ubuntu packages are built for; the venv must use the same one.
SYSTEM_PYTHON=/usr/bin/python3
SYSTEM_PACKAGES=(gnuradio gnuradio-dev cmake make g++ pkg-config python3-venv python3-dev espeak-ng)
# eeamc_native (native/) is built with the pybind11 GNU Radio's own bindings were built with, so that
# PMTs and blocks pass between them; gnuradio-dev pulls it in on Debian 12, but not everywhere: named.
SYSTEM_PACKAGES+=(pybind11-dev)
# For the examples and GRC: the RTL-SDR sources (gr-osmosdr; SoapySDR's RTL-SDR module for GNU Radio's
# own Soapy source), the GTK 3 typelib and cairo bindings GRC's window needs (not pulled in with
# --no-install-recommends: without gir1.2-gtk-3.0 GRC stops with "Namespace Gtk not available"), and
# Xvfb to start GRC and the Qt examples without a display (tests, screenshots).
SYSTEM_PACKAGES+=(gr-osmosdr soapysdr-module-rtlsdr gir1.2-gtk-3.0 python3-gi-cairo xvfb xauth)

say() { printf '[setup] %s\n' "$*"; }
die() {
    printf '[setup] error: %s\n' "$*" >&2
    exit 1
}

# Runs a noisy command with its output in a log; shows the log's tail only if it fails.
quietly() {
    local log="$1"
    shift
    if ! "$@" >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        die "'$*' failed; full log: $log"
    fi
}

is_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

install_system_packages() {
    command -v dpkg-query >/dev/null || die "this script needs a Debian or Ubuntu system (dpkg not found)"
    local missing=() package
    for package in "${SYSTEM_PACKAGES[@]}"; do
        is_installed "$package" || missing+=("$package")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        say "system packages: all present"
        return
    fi
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || die "missing packages ${missing[*]}: run as root or install sudo"
        sudo=(sudo)
    fi
    say "system packages: installing ${missing[*]} (apt-get)"
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}"
}

check_gnuradio() {
    "$SYSTEM_PYTHON" -c "from gnuradio import gr" 2>/dev/null ||
        die "$SYSTEM_PYTHON cannot import GNU Radio although the gnuradio package is installed"
    local version
    version="$("$SYSTEM_PYTHON" -c "from gnuradio import gr; print(gr.version())")"
    case "$version" in
        3.10.*) say "GNU Radio $version" ;;
        *) die "GNU Radio $version found; gr-eeamc needs 3.10" ;;
    esac
}

create_venv() {
    if [ -x "$VENV/bin/python" ]; then
        # A venv made from another Python or without system site packages cannot see GNU Radio.
        grep -q '^include-system-site-packages = true' "$VENV/pyvenv.cfg" 2>/dev/null ||
            die "$VENV was made without --system-site-packages, so it cannot see GNU Radio; remove it and rerun"
        "$VENV/bin/python" -c "from gnuradio import gr" 2>/dev/null ||
            die "$VENV/bin/python cannot import GNU Radio (made from another Python?); remove $VENV and rerun"
        say "venv: $VENV (exists)"
        return
    fi
    say "venv: creating $VENV with system site packages"
    "$SYSTEM_PYTHON" -m venv --system-site-packages "$VENV"
}

# Prints the path of requirements.txt, or of a copy without the extra package indexes (PyTorch's CPU
# index) that cannot be reached from here (offline mirror, firewall): pip would otherwise retry such
# an index five times for every single package.
reachable_requirements() {
    local url copy="$VENV/requirements-reachable.txt"
    local unreachable=()
    for url in $(sed -n 's/^--extra-index-url[ =]*//p' "$ROOT/requirements.txt"); do
        "$VENV/bin/python" - "$url" <<'PY' || unreachable+=("$url")
import sys
import urllib.error
import urllib.request

try:
    urllib.request.urlopen(sys.argv[1], timeout=10)
except urllib.error.HTTPError:
    pass  # the host answered: reachable
except (OSError, ValueError):
    sys.exit(1)
PY
    done
    if [ ${#unreachable[@]} -eq 0 ]; then
        echo "$ROOT/requirements.txt"
        return
    fi
    say "pip packages: cannot reach ${unreachable[*]}; using the other indexes (and local wheels) only" >&2
    local patterns=()
    for url in "${unreachable[@]}"; do patterns+=(-e "$url"); done
    grep -v -F "${patterns[@]}" "$ROOT/requirements.txt" >"$copy" || true
    echo "$copy"
}

install_requirements() {
    local stamp="$VENV/.eeamc-requirements.sha256" wanted
    # The hash covers the interpreter too, so a system Python upgrade reinstalls as well.
    wanted="$( (cat "$ROOT/requirements.txt" && "$VENV/bin/python" -VV) | sha256sum | cut -d' ' -f1)"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
        say "pip packages: up to date"
        return
    fi
    say "pip packages: installing requirements.txt (the first time downloads torch, a few minutes)"
    local requirements
    requirements="$(reachable_requirements)"
    quietly "$VENV/pip-install.log" "$VENV/bin/python" -m pip install --no-input -r "$requirements"
    echo "$wanted" >"$stamp"
}

# The training package is not installed (it is the research side, run from a checkout): a .pth file in
# the venv puts the checkout on its path, the one way everything outside tests/ finds `training`.
link_training() {
    local site_packages pth
    site_packages="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')"
    pth="$site_packages/gr-eeamc-checkout.pth"
    if [ "$(cat "$pth" 2>/dev/null)" != "$ROOT" ]; then
        echo "$ROOT" >"$pth"
        say "training: $ROOT on the venv's path ($pth)"
    fi
}

build_and_install() {
    local site_packages
    site_packages="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')"
    mkdir -p "$BUILD"
    local cache="$BUILD/CMakeCache.txt"
    # A build folder configured for another checkout or prefix is rebuilt from scratch.
    if [ -f "$cache" ] && ! grep -qx "CMAKE_HOME_DIRECTORY:INTERNAL=$ROOT" "$cache"; then
        say "build: $BUILD belongs to another source tree; starting it afresh"
        rm -rf "$BUILD" && mkdir -p "$BUILD"
    fi
    if [ ! -f "$cache" ] || ! grep -qx "CMAKE_INSTALL_PREFIX:PATH=$VENV" "$cache"; then
        say "build: configuring (prefix $VENV)"
        quietly "$BUILD/setup-cmake.log" cmake -S "$ROOT" -B "$BUILD" \
            -DCMAKE_INSTALL_PREFIX="$VENV" \
            -DGR_PYTHON_DIR="$site_packages" \
            -DQA_PYTHON_EXECUTABLE="$VENV/bin/python"
    fi
    say "build: make install -> $site_packages/gnuradio/eeamc"
    quietly "$BUILD/setup-make.log" cmake --build "$BUILD" --target install -- -j"$(nproc)"
}

# eeamc_native built but not importable (an ABI mismatch) would leave the blocks on the slower Python
# reporting path unnoticed: that stops the set-up; not built at all (no pybind11) is only said.
check_native() {
    if [ -z "$(find "$BUILD/test_modules" -maxdepth 1 -name 'eeamc_native*.so' 2>/dev/null)" ]; then
        say "eeamc_native: not built (see $BUILD/setup-cmake.log); the blocks report in Python"
        return
    fi
    "$VENV/bin/python" -c "import eeamc_native" ||
        die "eeamc_native was built but does not import with $VENV/bin/python (see the error above)"
    say "eeamc_native: the blocks build their tags and messages in C++"
}

# GRC must start from the venv (so that flowgraphs see gnuradio.eeamc) and load the examples; tried
# once under Xvfb, again only when the installed packages or the examples change.
check_grc() {
    local stamp="$VENV/.eeamc-grc.sha256" wanted log="$BUILD/setup-grc.log"
    wanted="$( (dpkg-query -W gnuradio python3-gi gir1.2-gtk-3.0 && cat "$ROOT"/examples/*.grc) | sha256sum | cut -d' ' -f1)"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
        say "GRC: starts (checked before)"
        return
    fi
    command -v xvfb-run >/dev/null || die "xvfb-run missing although xvfb is installed"
    # GRC runs until closed: 15 s under Xvfb without an error means it started and loaded the examples.
    local status=0
    GRC_BLOCKS_PATH="$VENV/share/gnuradio/grc/blocks" timeout 15 xvfb-run -a "$VENV/bin/python" \
        /usr/bin/gnuradio-companion "$ROOT"/examples/*.grc >"$log" 2>&1 || status=$?
    if [ "$status" -ne 124 ] || grep -qiE "Traceback|Error|not available" "$log"; then
        tail -n 20 "$log" >&2
        die "gnuradio-companion did not start under Xvfb (log: $log)"
    fi
    echo "$wanted" >"$stamp"
    say "GRC: starts and loads the examples"
}

main() {
    cd "$ROOT"
    install_system_packages
    check_gnuradio
    mkdir -p "$BUILD"
    # Two setups at once (say `make test` in two terminals) would race on pip and the build.
    exec 9>"$BUILD/.setup.lock"
    flock 9
    create_venv
    install_requirements
    build_and_install
    link_training
    "$VENV/bin/python" -c "from gnuradio import eeamc" ||
        die "the installed module does not import with $VENV/bin/python (see the error above)"
    check_native
    check_grc
    say "ready: $VENV/bin/python has gnuradio.eeamc"
}

main "$@"
