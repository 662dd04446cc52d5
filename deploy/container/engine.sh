# Sourced by the scripts under deploy/ and by the container test tier: picks
# the container engine and the options this machine needs, so no one has to
# know them.
#   ctr ARGS...        the engine (podman, else docker) with its global options
#   ctr_kube ARGS...   `podman kube ARGS` with the limits below
#   ctr_run_opts       options every `run` needs here (ctr_build_opts: `build`)
#   DESK_IMAGE         the image name (localhost/desk:latest)
# podman as root on a hybrid cgroup layout (cgroup v1 with a unified
# subtree) fails with crun; runc works there. Containers get the open-files
# limit of the caller at most (podman's default of 1048576 fails where the
# hard limit is lower), capped at 20000, and at most 16384 processes per user
# (podman's default nproc, the host's maximum, is refused where the caller may
# not raise limits: no CAP_SYS_RESOURCE).

DESK_IMAGE=${DESK_IMAGE:-localhost/desk:latest}

ctr_engine() {
    if command -v podman >/dev/null 2>&1; then
        echo podman
    elif command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
        echo docker
    fi
}

DESK_ENGINE=${DESK_ENGINE:-$(ctr_engine)}
ctr_global=()
if [ "$DESK_ENGINE" = podman ] && [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" != cgroup2fs ] &&
    command -v runc >/dev/null 2>&1; then
    ctr_global=(--runtime runc)
fi

ctr() {
    "$DESK_ENGINE" "${ctr_global[@]}" "$@"
}

ctr_nofile() {
    local n
    n=$(ulimit -Hn)
    if [ "$n" = unlimited ] || [ "$n" -gt 20000 ]; then
        n=20000
    fi
    echo "$n"
}

ctr_nproc() {
    local n
    n=$(ulimit -Hu)
    if [ "$n" = unlimited ] || [ "$n" -gt 16384 ]; then
        n=16384
    fi
    echo "$n"
}

# `kube play` takes no --ulimit: the same limits go in a containers.conf of
# its own (CONTAINERS_CONF replaces the system's for that call only).
ctr_kube() {
    local conf rc
    conf=$(mktemp)
    printf '[containers]\ndefault_ulimits = ["nofile=%s:%s", "nproc=%s:%s"]\n' \
        "$(ctr_nofile)" "$(ctr_nofile)" "$(ctr_nproc)" "$(ctr_nproc)" >"$conf"
    CONTAINERS_CONF=$conf ctr kube "$@"
    rc=$?
    rm -f "$conf"
    return $rc
}

ctr_build_opts=(--ulimit "nofile=$(ctr_nofile):$(ctr_nofile)")
ctr_run_opts=("${ctr_build_opts[@]}" --ulimit "nproc=$(ctr_nproc):$(ctr_nproc)")
