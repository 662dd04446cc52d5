#!/usr/bin/env bash
# Installs the Debian 12 packages desk needs, only those that are missing.
# Usage: scripts/deps.sh build|run|test   (each includes the ones before it)
set -euo pipefail

build=(cmake gcc make pkg-config libx11-dev libxext-dev libxtst-dev libxfixes-dev libxrandr-dev
    libxinerama-dev libxres-dev libpng-dev libturbojpeg0-dev libwebp-dev libmicrohttpd-dev
    libjansson-dev libcurl4-openssl-dev libxcb1-dev libx11-xcb-dev)
run=(xvfb xfce4 xfce4-terminal dbus-x11 dbus-daemon x11vnc novnc websockify xfonts-base x11-utils)
test=(xserver-xephyr x11-xserver-utils x11-xkb-utils xdotool valgrind curl scrot imagemagick
    chromium clang-format clang-tidy git)
# The browser test's node and npm: Debian's packages only when none is installed
# (NodeSource's nodejs ships its own npm and conflicts with Debian's npm).
command -v node >/dev/null 2>&1 || test+=(nodejs)
command -v npm >/dev/null 2>&1 || test+=(npm)

case "${1:-test}" in
build) want=("${build[@]}") ;;
run) want=("${build[@]}" "${run[@]}") ;;
test) want=("${build[@]}" "${run[@]}" "${test[@]}") ;;
*) echo "usage: $0 build|run|test" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing packages: ${missing[*]}; run as root (or with sudo) to install them" >&2
    exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q "${missing[@]}"
