#!/usr/bin/env bash
# The one entry point for building, running, testing and packaging bitcoin-price-scraper.
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

usage() {
  cat <<'USAGE'
usage: ./build.sh COMMAND [-- ARGS]
  run [-- ARGS]   build and run the daemon (default: backfill 30 days of KRW-BTC 1m, then follow)
  test            run every test (unit, integration, packaging)
  publish         self-contained linux-x64 NativeAOT build into dist/publish
  package         publish, then write dist/bitcoin-price-scraper-VERSION-linux-x64.tar.gz (+ .sha256)
  bench           publish, then measure backfill against the rate ceiling (and ccxt beside it);
                  table in dist/bench/results.md
  soak            the long load tests (200 scrapers; 50 markets x 3 units followed for
                  BITCOIN_PRICE_SCRAPER_SOAK_MINUTES, default 10)
USAGE
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
    dotnet build Scraper.sln -c Release -v q -nologo
    dotnet test Scraper.sln -c Release --no-build -v q --logger "console;verbosity=normal" "$@"
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
      (cd Scraper.Tests/Benchmarks/ccxt && npm install --no-audit --no-fund --silent) || echo "ccxt not installed: its row is left out" >&2
    fi
    BITCOIN_PRICE_SCRAPER_BIN="$PWD/dist/publish/bitcoin-price-scraper" BITCOIN_PRICE_SCRAPER_BENCH=1 \
      dotnet test Scraper.sln -c Release --no-build -v q \
      --filter "FullyQualifiedName~Benchmarks.BackfillBenchmark" --logger "console;verbosity=detailed" "$@"
    ;;
  soak)
    bash ./build.sh publish
    dotnet build Scraper.sln -c Release -v q -nologo
    # Measures the NativeAOT binary users run, not the JIT build.
    BITCOIN_PRICE_SCRAPER_BIN="$PWD/dist/publish/bitcoin-price-scraper" BITCOIN_PRICE_SCRAPER_SOAK=1 \
      dotnet test Scraper.sln -c Release --no-build -v q \
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
