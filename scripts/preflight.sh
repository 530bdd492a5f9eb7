#!/usr/bin/env bash
# What `make run` and `make test` need from the system, checked before it is needed, each missing piece named
# with the Debian/Ubuntu package that provides it, instead of a crash deep inside pip, Qt or npm.
#
#   scripts/preflight.sh python   Python >= 3.11 with venv (before .venv is made; $PYTHON, default python3)
#   scripts/preflight.sh gui      the system libraries Qt's xcb platform plugin loads (after .venv is made)
#   scripts/preflight.sh node     Node.js >= 18 and npm (the test chain and the contract compiler)
set -euo pipefail

fail() {
  printf '\n%s\n\n' "$1" >&2
  exit 1
}

check_python() {
  local py=${PYTHON:-python3}
  command -v "$py" >/dev/null 2>&1 || fail "Python 3.11 or newer is needed: sudo apt-get install python3 python3-venv"
  "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
    fail "Python 3.11 or newer is needed; $py is $("$py" -V 2>&1 || echo 'not a working Python'). Install a newer python3, or run: make PYTHON=python3.12 run"
  "$py" -c 'import venv, ensurepip' >/dev/null 2>&1 ||
    fail "Python's venv module is missing: sudo apt-get install python3-venv"
}

# soname -> Debian/Ubuntu package (Ubuntu 24.04 names some of them with a t64 suffix, e.g. libglib2.0-0t64)
declare -A PACKAGE=(
  [libEGL.so.1]=libegl1 [libGL.so.1]=libgl1 [libGLX.so.0]=libglx0 [libGLdispatch.so.0]=libglvnd0
  [libOpenGL.so.0]=libopengl0 [libX11.so.6]=libx11-6 [libX11-xcb.so.1]=libx11-xcb1
  [libdbus-1.so.3]=libdbus-1-3 [libfontconfig.so.1]=libfontconfig1 [libfreetype.so.6]=libfreetype6
  [libglib-2.0.so.0]=libglib2.0-0 [libgthread-2.0.so.0]=libglib2.0-0 [libpng16.so.16]=libpng16-16
  [libxcb.so.1]=libxcb1 [libxcb-cursor.so.0]=libxcb-cursor0 [libxcb-icccm.so.4]=libxcb-icccm4
  [libxcb-image.so.0]=libxcb-image0 [libxcb-keysyms.so.1]=libxcb-keysyms1 [libxcb-randr.so.0]=libxcb-randr0
  [libxcb-render.so.0]=libxcb-render0 [libxcb-render-util.so.0]=libxcb-render-util0
  [libxcb-shape.so.0]=libxcb-shape0 [libxcb-shm.so.0]=libxcb-shm0 [libxcb-sync.so.1]=libxcb-sync1
  [libxcb-util.so.1]=libxcb-util1 [libxcb-xfixes.so.0]=libxcb-xfixes0 [libxcb-xkb.so.1]=libxcb-xkb1
  [libxkbcommon.so.0]=libxkbcommon0 [libxkbcommon-x11.so.0]=libxkbcommon-x11-0
)

check_gui() {
  [ "$(uname -s)" = Linux ] || return 0
  local venv=${VENV:-.venv}
  local qt
  qt=$(ls -d "$venv"/lib/python3*/site-packages/PySide6/Qt 2>/dev/null | head -n 1) || true
  [ -n "$qt" ] || return 0 # not installed yet: the install step reports its own errors
  local missing
  # ldd names exactly what the dynamic loader cannot find for the plugin and the Qt libraries it pulls in
  local files=() file
  for file in "$qt/plugins/platforms/libqxcb.so" "$qt"/lib/libQt6{XcbQpa,Gui,Widgets,DBus,Core}.so.6; do
    [ -e "$file" ] && files+=("$file")
  done
  [ ${#files[@]} -gt 0 ] || return 0
  # PREFLIGHT_LDD: the tests' stand-in for ldd, to name libraries this machine happens to have
  missing=$({ ${PREFLIGHT_LDD:-ldd} "${files[@]}" 2>/dev/null || true; } | awk '/not found/ {print $1}' | sort -u)
  [ -z "$missing" ] && return 0
  if grep -q '^libQt6' <<<"$missing"; then
    fail "The Qt in $venv is incomplete ($(grep '^libQt6' <<<"$missing" | tr '\n' ' ')missing). Make it again:
  rm -rf $venv && make run"
  fi
  local packages="" lib
  for lib in $missing; do
    packages="$packages ${PACKAGE[$lib]:-$lib}"
  done
  packages=$(printf '%s\n' $packages | sort -u | tr '\n' ' ')
  fail "Qt needs system libraries that are not installed:
  $(printf '%s ' $missing)
Install them with:
  sudo apt-get install ${packages% }"
}

check_node() {
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
    fail "The tests need Node.js 18 or newer and npm (the local test chain, anvil, and the contract compiler come from npm):
  sudo apt-get install nodejs npm"
  node -e 'process.exit(Number(process.versions.node.split(".")[0]) < 18 ? 1 : 0)' ||
    fail "The tests need Node.js 18 or newer; this is $(node --version)."
}

case "${1:-}" in
  python) check_python ;;
  gui) check_gui ;;
  node) check_node ;;
  *) fail "usage: $0 python|gui|node" ;;
esac
