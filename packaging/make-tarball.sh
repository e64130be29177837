#!/bin/sh
# Assembles the release tarball from a NativeAOT publish folder:
#   OUTPUT_DIR/bitcoin-price-scraper-VERSION-linux-x64.tar.gz (+ .sha256, sha256sum format)
# with the top folder bitcoin-price-scraper-VERSION/ holding bin/, config.example.json, systemd/,
# prometheus/, grafana/, install.sh, and LICENSE and README.md when the repository has them.
# The archive is reproducible: sorted names, root ownership, mtime SOURCE_DATE_EPOCH (default:
# the last commit's time, or now outside git).
set -eu

NAME=bitcoin-price-scraper

if [ $# -ne 3 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
  echo "usage: packaging/make-tarball.sh PUBLISH_DIR VERSION OUTPUT_DIR" >&2
  exit 2
fi
publish=$1
version=$2
out=$3

die() {
  echo "make-tarball.sh: $*" >&2
  exit 1
}

case $version in
  '' | *[!A-Za-z0-9.+~-]*) die "VERSION must be letters, digits and . + ~ -, got '$version'" ;;
esac
[ -f "$publish/$NAME" ] || die "$publish/$NAME not found (run ./build.sh publish first)"
[ -x "$publish/$NAME" ] || die "$publish/$NAME is not executable"

repo=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
  SOURCE_DATE_EPOCH=$(git -C "$repo" log -1 --format=%ct 2>/dev/null || date +%s)
fi

top=$NAME-$version
tarball=$top-linux-x64.tar.gz
mkdir -p "$out"
out=$(cd "$out" && pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT INT TERM
umask 022

dest=$stage/$top
install -d "$dest/bin" "$dest/systemd"
install -m 0755 "$publish/$NAME" "$dest/bin/$NAME"
# Native libraries the binary loads at run time (libe_sqlite3.so); debug symbols stay out.
for lib in "$publish"/*.so; do
  if [ -f "$lib" ]; then
    install -m 0644 "$lib" "$dest/bin/"
  fi
done
install -m 0755 "$repo/packaging/install.sh" "$dest/install.sh"
install -m 0644 "$repo/packaging/config.example.json" "$dest/config.example.json"
install -m 0644 "$repo/systemd/$NAME.service" "$dest/systemd/$NAME.service"
cp -R "$repo/prometheus" "$repo/grafana" "$dest/"
for doc in LICENSE README.md; do
  if [ -f "$repo/$doc" ]; then
    install -m 0644 "$repo/$doc" "$dest/$doc"
  fi
done

tar -C "$stage" --sort=name --owner=0 --group=0 --numeric-owner \
  --mtime="@$SOURCE_DATE_EPOCH" -cf - "$top" | gzip -9 -n >"$out/$tarball.tmp"
mv "$out/$tarball.tmp" "$out/$tarball"
(cd "$out" && sha256sum "$tarball" >"$tarball.sha256")
echo "$out/$tarball"
