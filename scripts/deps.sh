#!/usr/bin/env bash
# Installs the Debian 12 packages desk needs, only those that are missing.
# Usage: scripts/deps.sh build|run|test   (each includes the ones before it)
set -euo pipefail

build=(cmake gcc make pkg-config libx11-dev libxext-dev libxtst-dev libxfixes-dev libxrandr-dev
    libxinerama-dev libxres-dev libpng-dev libturbojpeg0-dev libwebp-dev libmicrohttpd-dev
    libjansson-dev libcurl4-openssl-dev libxcb1-dev libx11-xcb-dev libxcb-xtest0-dev libglib2.0-dev uuid-dev
    libxdamage-dev zlib1g-dev nettle-dev libwslay-dev)
run=(xvfb xfce4 xfce4-terminal dbus-x11 dbus-daemon x11vnc novnc websockify xfonts-base x11-utils
    at-spi2-core ffmpeg)
test=(xserver-xephyr x11-xserver-utils x11-xkb-utils xdotool xclip valgrind curl scrot imagemagick
    chromium clang clang-format clang-tidy git jq libgtk-3-dev libatspi2.0-dev)
# clang: the libFuzzer harnesses (scripts/fuzz); its libclang-rt-dev holds libFuzzer.
test+=(libclang-rt-dev)
# The container tier: podman builds and runs the image (runc where crun cannot
# run: hybrid cgroups) and mmdebstrap makes the Debian base where no image
# registry answers.
test+=(podman runc catatonit mmdebstrap)
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

# A fresh cloud machine runs unattended-upgrades for minutes after boot; apt
# and dpkg hold their locks meanwhile and a second apt fails at once. Wait for
# them (up to DESK_DEPS_LOCK_WAIT seconds, default 1800) and say who holds them.
locks=(/var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock
    /var/cache/apt/archives/lock)
lock_holders() {
    local fd target pid
    for fd in /proc/[0-9]*/fd/*; do
        target=$(readlink "$fd" 2>/dev/null) || continue
        for l in "${locks[@]}"; do
            if [ "$target" = "$l" ]; then
                pid=${fd#/proc/}
                pid=${pid%%/*}
                echo "$pid ($(tr '\0\n' '  ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-80)) on $l"
            fi
        done
    done
}
wait_for_locks() {
    local limit=${DESK_DEPS_LOCK_WAIT:-1800} start=$SECONDS last=-1 holders
    while holders=$(lock_holders) && [ -n "$holders" ]; do
        if [ $((SECONDS - start)) -ge "$limit" ]; then
            echo "deps: gave up after ${limit} s waiting for the package manager; held by:" >&2
            echo "$holders" >&2
            exit 1
        fi
        if [ $(((SECONDS - start) / 15)) -ne $last ]; then
            last=$(((SECONDS - start) / 15))
            echo "deps: waiting for the package manager's lock ($((SECONDS - start)) s so far), held by:" >&2
            echo "$holders" | sed 's/^/deps:   pid /' >&2
        fi
        sleep 1
    done
}
wait_for_locks
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# apt waits too, for a lock taken between our check and its start.
lockwait=(-o "DPkg::Lock::Timeout=${DESK_DEPS_LOCK_WAIT:-1800}")
apt-get "${lockwait[@]}" update -q
apt-get "${lockwait[@]}" install -y -q "${missing[@]}"
