#!/usr/bin/env bash
# The container tier: the image deploy/container/build makes, run as users
# run it.
#   - three desktops side by side, each in its own container: /readyz 200
#     with no token; a screenshot needs the token (401 without) and is the
#     1280x720 desktop; a click through the API reaches an X client inside
#     (xev logs the ButtonPress at the clicked root coordinates); the image's
#     HEALTHCHECK passes; they run as uid 1000 and the token is on no command
#     line.
#   - SIGTERM (podman stop): the container exits 0, in under 8 s.
#   - deploy/kubernetes/desk.yaml under `podman kube play`: the pod becomes
#     ready, takes the token from the Secret, answers a screenshot, has a
#     read-only root filesystem, and goes with `podman kube down`.
# Exit 77 (skipped) when no container engine is installed.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../../deploy/container/engine.sh
. "$root/deploy/container/engine.sh"
# A missing tool fails (scripts/deps.sh test installs them all) unless skips are asked for.
missing() {
    if [ "${DESK_TEST_ALLOW_SKIP:-}" = 1 ]; then
        echo "skipped: $1 is not installed (DESK_TEST_ALLOW_SKIP=1)"
        exit 77
    fi
    echo "FAILED: $1 is not installed; scripts/deps.sh test installs it" >&2
    exit 1
}
[ -n "$DESK_ENGINE" ] || missing "a container engine (podman)"
for tool in curl jq; do
    command -v $tool >/dev/null || missing $tool
done

passed=0 failed=0
check() { # check DESCRIPTION COMMAND...
    local what=$1
    shift
    if "$@"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "check failed: $what" >&2
    fi
}
ms() { date +%s%3N; }
# until_ok TIMEOUT_S COMMAND...: runs COMMAND until it succeeds; false after the timeout.
until_ok() {
    local end=$(($(date +%s) + $1))
    shift
    until "$@"; do
        [ "$(date +%s)" -ge "$end" ] && return 1
        sleep 0.1 # the poll interval of a condition, not a wait for time to pass
    done
    return 0
}

prefix=desk-test-$$
kube=""
cleanup() {
    for c in $(ctr ps -aq --filter "name=^$prefix-" 2>/dev/null); do
        ctr rm -f -t 0 "$c" >/dev/null 2>&1
    done
    if [ -n "$kube" ]; then
        ctr_kube down "$kube" >/dev/null 2>&1
    fi
    # What kube play makes and kube down (podman 4.3) leaves.
    ctr secret rm desk-token >/dev/null 2>&1
    ctr volume rm -f desk-token desk-home desk-state desk-tmp >/dev/null 2>&1
    return 0
}
trap cleanup EXIT

t0=$(ms)
if ! "$root/deploy/container/build"; then
    echo "check failed: the image builds" >&2
    exit 1
fi
echo "image: $DESK_IMAGE ready after $(($(ms) - t0)) ms"

# The address of a container's API (its bridge address, port 2280).
api_of() {
    local ip
    ip=$(ctr inspect --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$1")
    [ -n "$ip" ] && echo "http://$ip:2280"
}
http_code() { # http_code URL [TOKEN]: the status, body in $tmp/body, headers in $tmp/head
    local auth=()
    [ -n "${2:-}" ] && auth=(-H "Authorization: Bearer $2")
    curl -s -m 10 -o "$tmp/body" -D "$tmp/head" -w '%{http_code}' "${auth[@]}" "$1"
}
ready() { [ "$(http_code "$1/readyz")" = 200 ]; }
header() { tr -d '\r' <"$tmp/head" | sed -n "s/^$1: //Ip" | head -n 1; }
tmp=$(mktemp -d)
trap 'cleanup; rm -rf "$tmp"' EXIT

# One desktop: readiness, the token, the screenshot, a click seen inside.
check_desktop() {
    local name=$1 token=$2 url
    url=$(api_of "$name")
    check "$name has an address" test -n "$url"
    t0=$(ms)
    check "$name: /readyz 200 within 90 s" until_ok 90 ready "$url"
    echo "$name: ready $(($(ms) - t0)) ms after its start returned"
    check "$name: readyz says ready" grep -q '"status": *"ready"' "$tmp/body"
    check "$name: screenshot without the token is 401" \
        test "$(http_code "$url/computeruse/screenshot")" = 401
    local code
    code=$(curl -s -m 20 -o "$tmp/shot.png" -D "$tmp/head" -w '%{http_code}' \
        -H "Authorization: Bearer $token" -H 'Accept: image/png' "$url/computeruse/screenshot")
    check "$name: screenshot with the token is 200 ($code)" test "$code" = 200
    check "$name: a PNG" test "$(head -c 8 "$tmp/shot.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a
    check "$name: 1280x720" test "$(header X-Desk-Width)x$(header X-Desk-Height)" = 1280x720
    check_click "$name" "$url" "$token"
    check "$name: the image's HEALTHCHECK passes" ctr healthcheck run "$name"
    check "$name: runs as uid 1000" test "$(ctr exec "$name" id -u)" = 1000
    check "$name: the token is on no command line" no_token_in_cmdlines "$name" "$token"
}

no_token_in_cmdlines() {
    ! ctr exec "$1" sh -c 'cat /proc/[0-9]*/cmdline' | tr '\0' ' ' | grep -qF "$2"
}
read_only_root() { ! ctr exec "$1" touch /usr/desk-write-test 2>/dev/null; }

# xev inside the container logs the ButtonPress of a click sent through the API.
xev_window() { # the geometry of xev's window, "x y w h", from the windows route
    curl -s -m 10 -H "Authorization: Bearer $2" "$1/computeruse/display/windows" |
        jq -er '.windows[] | select(.title == "Event Tester") | "\(.x) \(.y) \(.width) \(.height)"'
}
check_click() {
    local name=$1 url=$2 token=$3 geo cx cy
    ctr exec -d "$name" sh -c 'exec xev -event button >/tmp/xev.log 2>&1' >/dev/null
    check "$name: xev's window is mapped" until_ok 30 xev_window "$url" "$token" >/dev/null
    geo=$(xev_window "$url" "$token") || return
    read -r x y w h <<<"$geo"
    cx=$((x + w / 2)) cy=$((y + h / 2))
    code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" \
        -H 'Content-Type: application/json' -d "{\"x\":$cx,\"y\":$cy}" "$url/computeruse/mouse/click")
    check "$name: click answered 200 ($code)" test "$code" = 200
    check "$name: xev saw the ButtonPress at root ($cx,$cy)" until_ok 10 \
        ctr exec "$name" grep -q "root:($cx,$cy)" /tmp/xev.log
}

# ---- three desktops side by side ----
names=()
for i in 1 2 3; do
    name=$prefix-$i
    names+=("$name")
    check "$name starts" ctr run -d --name "$name" "${ctr_run_opts[@]}" \
        -e DESK_TOKEN="token-$i-$$" "$DESK_IMAGE" >/dev/null
done
for i in 1 2 3; do
    check_desktop "${names[$i - 1]}" "token-$i-$$"
done

# ---- SIGTERM ----
for name in "${names[@]}"; do
    t0=$(ms)
    ctr stop -t 20 "$name" >/dev/null
    took=$(($(ms) - t0))
    echo "$name: stopped by SIGTERM in $took ms"
    check "$name: stopped in under 8 s ($took ms)" test "$took" -lt 8000
    check "$name: exit code 0" test "$(ctr inspect --format '{{.State.ExitCode}}' "$name")" = 0
done

# ---- the Kubernetes manifest ----
kube=$tmp/desk.yaml
# What an earlier run may have left (the manifest's names are fixed).
ctr_kube down "$root/deploy/kubernetes/desk.yaml" >/dev/null 2>&1
cleanup
token=kube-token-$$
sed "s/^  token: .*/  token: $(printf %s "$token" | base64)/" "$root/deploy/kubernetes/desk.yaml" >"$kube"
t0=$(ms)
check "kube play" ctr_kube play "$kube" >"$tmp/kube.log" 2>&1 || cat "$tmp/kube.log" >&2
pod_ctr=$(ctr ps --format '{{.Names}}' | grep -m1 '^desk-pod-[0-9]*-desk$')
check "the pod's desk container runs" test -n "$pod_ctr"
if [ -n "$pod_ctr" ]; then
    infra=$(ctr pod inspect --format '{{.InfraContainerID}}' "$(ctr inspect --format '{{.Pod}}' "$pod_ctr")")
    url=$(api_of "$infra")
    check "the pod has an address" test -n "$url"
    check "pod: /readyz 200 within 90 s" until_ok 90 ready "$url"
    echo "pod: ready $(($(ms) - t0)) ms after kube play started"
    # The Secret reaches deskd as a file. podman 4.3 writes a Secret's data
    # without decoding its base64 (Kubernetes decodes it): the token is the
    # file's content, which must be one of the two.
    got=$(ctr exec "$pod_ctr" cat /run/secrets/desk/token)
    check "pod: the Secret's token is mounted" \
        test "$got" = "$token" -o "$got" = "$(printf %s "$token" | base64)"
    check "pod: screenshot with the Secret's token" \
        test "$(http_code "$url/computeruse/screenshot" "$got")" = 200
    check "pod: without it, 401" test "$(http_code "$url/computeruse/screenshot")" = 401
    check "pod: root filesystem is read-only" read_only_root "$pod_ctr"
    check "pod: runs as uid 1000" test "$(ctr exec "$pod_ctr" id -u)" = 1000
    t0=$(ms)
fi
check "kube down" ctr_kube down "$kube" >/dev/null
[ -n "${pod_ctr:-}" ] && echo "pod: down after $(($(ms) - t0)) ms"
check "kube down removed the pod" test -z "$(ctr pod ps -q --filter name=desk-pod-0)"
kube=""

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
