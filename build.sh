#!/usr/bin/env bash
# The one entry point for building, running, testing and packaging bitcoin-price-scraper.
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

usage() {
  cat <<'USAGE'
usage: ./build.sh COMMAND [-- ARGS]
  run [-- ARGS]   build and run the daemon (default: backfill 30 days of KRW-BTC 1m, then follow)
  test [--fast]   run every test (unit, integration, packaging, systemd, disks); as root it first
                  installs the Debian packages the tests need when missing. --fast: the unit tier
                  only (no daemon processes, no root, seconds)
  publish         self-contained linux-x64 NativeAOT build into dist/publish
  package         publish, then write dist/bitcoin-price-scraper-VERSION-linux-x64.tar.gz (+ .sha256)
  bench           publish, then measure backfill against the rate ceiling (and ccxt beside it),
                  live following of 400 markets (stream beside polling), and 1, 2 and 3 scrapers
                  sharing one PostgreSQL; tables in dist/bench/results.md, live.md and fleet.md
  soak            the long load tests (200 scrapers; 50 markets x 3 units followed for
                  BITCOIN_PRICE_SCRAPER_SOAK_MINUTES, default 10)
USAGE
}

# Programs the system tests run, each with the Debian package that brings it
# (Scraper.Tests/TestKit/SystemRequirements.cs skips a test whose program is missing).
TEST_PROGRAMS="prometheus:prometheus promtool:prometheus systemd-analyze:systemd systemd-nspawn:systemd-container
  nsenter:util-linux debootstrap:debootstrap mkfs.ext4:e2fsprogs e2fsck:e2fsprogs"

# The test tiers are projects: the unit tier (seconds: no daemon, no root, no tools) and the system
# tier (the real binary, PostgreSQL, Prometheus, root-only tests, benchmarks); both share TestKit.
UNIT_TESTS=Scraper.Tests/Unit/Scraper.Tests.Unit.csproj
SYSTEM_TESTS=Scraper.Tests/System/Scraper.Tests.System.csproj

# As root: installs the packages of missing test programs. Otherwise: says which are missing and
# how to install them; their tests then report Skipped.
install_test_programs() {
  local pair program package missing=()
  for pair in $TEST_PROGRAMS; do
    program=${pair%%:*} package=${pair##*:}
    if ! command -v "$program" >/dev/null && [ ! -x "/usr/sbin/$program" ] && [ ! -x "/sbin/$program" ]; then
      [[ " ${missing[*]} " == *" $package "* ]] || missing+=("$package")
    fi
  done
  # PostgreSQL's server programs are not on PATH: Debian puts them under /usr/lib/postgresql/N/bin.
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ]; then
    echo "build.sh: installing the test tools' packages: ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "build.sh: missing test tools (their tests report Skipped): install with: sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  fi
}

version() { sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props | head -n1; }

cmd=${1:-}
[ $# -gt 0 ] && shift
[ "${1:-}" = "--" ] && shift

case "$cmd" in
  run)
    dotnet build Scraper/Scraper.csproj -c Release -v q -nologo
    exec dotnet Scraper/bin/Release/net10.0/bitcoin-price-scraper.dll "$@"
    ;;
  test)
    target=Scraper.sln
    if [ "${1:-}" = "--fast" ]; then
      shift
      target=$UNIT_TESTS
    else
      install_test_programs
    fi
    dotnet build "$target" -c Release -v q -nologo
    log=$(mktemp)
    set +e
    # One test project at a time (unit tier first), so the system tier's timing is not shared with
    # a second test host.
    dotnet test "$UNIT_TESTS" -c Release --no-build -v q --logger "console;verbosity=normal" "$@" | tee "$log"
    status=${PIPESTATUS[0]}
    if [ "$target" = Scraper.sln ]; then
      # The release tarball (NativeAOT, minutes of CPU) is built beside the system tier, whose
      # tarball tests run last and wait for it (Scraper.Tests/System/Packaging/TarballFixture.cs),
      # instead of inside the tier, where its build held one of the two parallel places throughout.
      packaging=
      if [ -z "${BITCOIN_PRICE_SCRAPER_TARBALL:-}" ]; then
        packaging=$(mktemp -d)
        # setsid: its own process group, so that the whole build can be stopped below; nice: the
        # tests' timing comes first, the build has until their parallel part ends.
        setsid nice -n 5 bash -c 'bash ./build.sh package >"$1/log" 2>&1 </dev/null; echo $? >"$1/status.tmp"; mv "$1/status.tmp" "$1/status"' _ "$packaging" &
        packaging_pid=$!
        trap 'kill -- "-$packaging_pid" 2>/dev/null || true' EXIT
        export BITCOIN_PRICE_SCRAPER_PACKAGING=$packaging
      fi
      dotnet test "$SYSTEM_TESTS" -c Release --no-build -v q --logger "console;verbosity=normal" "$@" | tee -a "$log"
      system_status=${PIPESTATUS[0]}
      [ "$status" -ne 0 ] || status=$system_status
      if [ -n "$packaging" ]; then
        # Still running only when no tarball test ran (a --filter): not needed.
        kill -- "-$packaging_pid" 2>/dev/null
        wait "$packaging_pid" 2>/dev/null
        rm -rf "$packaging"
      fi
    fi
    set -e
    # One closing line that any CI reads: "tests: N passed, N failed, N skipped", summed over the
    # test projects (each prints its own totals).
    count() { sed -n "s/^ *$1: *\([0-9][0-9]*\)\r\?$/\1/p" "$log" | awk '{ n += $1 } END { print n + 0 }'; }
    # The failed tests again, each with the head of its message, so that a CI record that keeps
    # only the tail of the output still says what failed.
    if grep -q '^ *Failed [A-Za-z]' "$log"; then
      echo "failed tests (repeated from above):"
      awk '/^ *Failed [A-Za-z]/ { print; n = 12; next } n > 0 && !/^ *(Passed|Skipped) / { print; n--; next } { n = 0 }' "$log" | cut -c1-300
    fi
    echo "tests: $(count Passed) passed, $(count Failed) failed, $(count Skipped) skipped"
    rm -f "$log"
    exit "$status"
    ;;
  publish)
    rm -rf dist/publish
    dotnet publish Scraper/Scraper.csproj -c Release -r linux-x64 --self-contained true \
      -p:PublishAot=true -o dist/publish -v q -nologo
    rm -f dist/publish/*.dbg
    ;;
  package)
    bash ./build.sh publish
    bash packaging/make-tarball.sh dist/publish "$(version)" dist
    ;;
  bench)
    bash ./build.sh publish
    dotnet build Scraper.sln -c Release -v q -nologo
    if command -v npm >/dev/null; then
      (cd Scraper.Tests/System/Benchmarks/ccxt && npm install --no-audit --no-fund --silent) || echo "ccxt not installed: its row is left out" >&2
    fi
    BITCOIN_PRICE_SCRAPER_BIN="$PWD/dist/publish/bitcoin-price-scraper" BITCOIN_PRICE_SCRAPER_BENCH=1 \
      dotnet test "$SYSTEM_TESTS" -c Release --no-build -v q \
      --filter "FullyQualifiedName~Benchmarks.BackfillBenchmark|FullyQualifiedName~Benchmarks.LiveBenchmark|FullyQualifiedName~Benchmarks.FleetBenchmark" --logger "console;verbosity=detailed" "$@"
    ;;
  soak)
    bash ./build.sh publish
    dotnet build Scraper.sln -c Release -v q -nologo
    # Measures the NativeAOT binary users run, not the JIT build.
    BITCOIN_PRICE_SCRAPER_BIN="$PWD/dist/publish/bitcoin-price-scraper" BITCOIN_PRICE_SCRAPER_SOAK=1 \
      dotnet test "$SYSTEM_TESTS" -c Release --no-build -v q \
      --filter "FullyQualifiedName~Reliability.SoakTests" --logger "console;verbosity=detailed" "$@"
    ;;
  -h|--help|help|"")
    usage
    ;;
  *)
    echo "build.sh: unknown command '$cmd'" >&2
    usage >&2
    exit 2
    ;;
esac
