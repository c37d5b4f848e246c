# Shared by scripts/test, scripts/demo and the benchmark scripts (sourced, not run): what must
# hold before the first cargo build, checked up front instead of after a long build.

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
