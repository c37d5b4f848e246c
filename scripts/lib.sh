# Shared by scripts/test, scripts/demo and the benchmark scripts (sourced, not run): what must
# hold before the first cargo build, checked up front instead of after a long build, and the
# lab for the length of a script (with_lab).

need_root() {
    [ "$(id -u)" = 0 ] || {
        echo "$0: run as root: the lab installs Debian packages and runs smbd (sudo drops" \
            "~/.cargo/bin from PATH: use sudo env \"PATH=\$PATH\" $0)" >&2
        exit 1
    }
}

need_cargo() {
    command -v cargo >/dev/null || {
        echo "$0: needs a Rust toolchain (1.88 or newer), e.g. from https://rustup.rs" >&2
        exit 1
    }
}

# Debian packages by the file they provide: need_debs FILE PACKAGE [FILE PACKAGE ...]
need_debs() {
    local missing=""
    while [ $# -ge 2 ]; do
        [ -e "$1" ] || missing="$missing $2"
        shift 2
    done
    [ -z "$missing" ] && return 0
    echo "installing:$missing" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

# A C compiler: ring (TLS and AES-GCM) builds C and assembly.
need_cc() {
    command -v cc >/dev/null || need_debs /usr/bin/gcc gcc /usr/include/stdio.h libc6-dev
}

# at_exit COMMAND: runs COMMAND (eval'd) when the script exits, the last registered first, each
# also when an earlier one failed; a failure makes a successful script exit 1.
exit_hooks=()
at_exit() {
    exit_hooks+=("$*")
    trap run_exit_hooks EXIT
}
run_exit_hooks() {
    local status=$? failed="" i
    for ((i = ${#exit_hooks[@]} - 1; i >= 0; i--)); do
        eval "${exit_hooks[i]}" || failed=1
    done
    if [ "$status" = 0 ] && [ -n "$failed" ]; then exit 1; fi
}

# with_lab (from the repository's root): starts the lab unless it is already up, and stops it
# when the script exits if it started it here (after what the script registers later with
# at_exit). Exports the lab's environment file as AZKRB_LAB_ENV (what the tests read) and its
# variables (AZKRB_LAB_*). lab/up's messages go to standard error.
with_lab() {
    local up_log
    up_log=$(mktemp)
    lab/up 2>&1 | tee "$up_log" >&2
    grep -q "already up" "$up_log" || at_exit 'lab/down >&2'
    rm -f "$up_log"
    export AZKRB_LAB_ENV="${AZKRB_LAB_DIR:-$PWD/lab/state}/lab.env"
    set -a
    # shellcheck source=/dev/null
    source "$AZKRB_LAB_ENV"
    set +a
}
