#!/bin/sh
# Builds the keepalived-rs packages: one command for both.
#
#   packaging/build.sh            -> target/debian/keepalived_<ver>-1_<arch>.deb
#                                    target/generate-rpm/keepalived-<ver>-1.<arch>.rpm
#   packaging/build.sh --deb      only the .deb
#   packaging/build.sh --rpm      only the .rpm
#   packaging/build.sh --no-build reuse target/release binaries
#
# Installs cargo-deb, cargo-generate-rpm (cargo install, once) and rpm
# (apt-get, for `rpm -qlp`) when they are missing. Prints the package paths.
set -eu

cd "$(dirname "$0")/.."
ROOT=$(pwd)

want_deb=1
want_rpm=1
build=1
for a in "$@"; do
    case "$a" in
        --deb) want_rpm=0 ;;
        --rpm) want_deb=0 ;;
        --no-build) build=0 ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "build.sh: unknown argument $a" >&2; exit 2 ;;
    esac
done

need_tool() {
    # $1 = cargo subcommand, $2 = crate
    if ! cargo "$1" --version >/dev/null 2>&1 && ! command -v "cargo-$1" >/dev/null 2>&1; then
        echo "build.sh: installing $2 (once; takes a few minutes)" >&2
        cargo install --locked "$2"
    fi
}

[ $want_deb -eq 1 ] && need_tool deb cargo-deb
[ $want_rpm -eq 1 ] && need_tool generate-rpm cargo-generate-rpm
if [ $want_rpm -eq 1 ] && ! command -v rpm >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "build.sh: installing rpm (for rpm -qlp)" >&2
    apt-get install -y -qq rpm >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq rpm >/dev/null; }
fi

# Files the packages ship that other parts of the tree provide.
for f in etc/keepalived.conf etc/default/keepalived etc/sysconfig/keepalived \
         etc/init.d/keepalived etc/rsyslog.d/keepalived.conf etc/logrotate.d/keepalived \
         packaging/systemd/keepalived.service packaging/man/keepalived.8; do
    [ -f "$f" ] || { echo "build.sh: missing $f" >&2; exit 1; }
done

if [ $build -eq 1 ]; then
    # Release build of the binaries (strip = true in [profile.release]:
    # cargo-generate-rpm does not strip by itself).
    cargo build --release -p keepalived -p genhash -p keepalivectl
fi
for b in target/release/keepalived target/release/genhash target/release/keepalivectl; do
    [ -x "$b" ] || { echo "build.sh: $b not built" >&2; exit 1; }
done

# The package description is packaging/Cargo.toml (its own tiny workspace,
# never compiled); the version is the main workspace's.
VERSION=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -1)
[ -n "$VERSION" ] || { echo "build.sh: no workspace version in Cargo.toml" >&2; exit 1; }

if [ $want_deb -eq 1 ]; then
    mkdir -p target/debian
    rm -f "target/debian/keepalived_${VERSION}-1_$(dpkg --print-architecture).deb"
    cargo deb --manifest-path packaging/Cargo.toml --no-build --no-strip --quiet \
        --deb-version "$VERSION-1" -o "target/debian/keepalived_${VERSION}-1_$(dpkg --print-architecture).deb" 2>&1 | grep -v "Only source paths starting with" >&2 || true
    ls -1 "$ROOT/target/debian/keepalived_${VERSION}-1_$(dpkg --print-architecture).deb"
fi
if [ $want_rpm -eq 1 ]; then
    mkdir -p target/generate-rpm
    out="$ROOT/target/generate-rpm/keepalived-${VERSION}-1.$(uname -m).rpm"
    rm -f "$out"
    (cd packaging && cargo generate-rpm -s "version = \"$VERSION\"" -o "$out")
    ls -1 "$out"
fi
