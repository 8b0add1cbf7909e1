#!/usr/bin/env bash
# The test command: prepares everything the tests need on a fresh machine
# (Go modules, a running PostgreSQL, Chromium for browser tests), then runs
# the whole suite against the embedded store and PostgreSQL.
#
#   scripts/test.sh              # everything
#   scripts/test.sh ./internal/repo/...   # only some packages (go test patterns)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*" >&2; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=
apt_install() {
	if [ -z "$apt_updated" ]; then
		as_root apt-get update -qq
		apt_updated=1
	fi
	DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

# --- Go modules -------------------------------------------------------------
command -v go >/dev/null || { echo "Go 1.26 or newer is required (https://go.dev/dl/)" >&2; exit 1; }
log "downloading Go modules"
go mod download

# --- PostgreSQL -------------------------------------------------------------
export OPENCHART_TEST_DB="${OPENCHART_TEST_DB:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}"
pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
if ! command -v pg_isready >/dev/null; then
	log "installing PostgreSQL"
	apt_install postgresql
fi
if ! pg_up; then
	log "starting PostgreSQL"
	if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
		ver=$(ls /etc/postgresql | sort -V | tail -n1)
		as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
	fi
	for _ in $(seq 1 30); do pg_up && break; sleep 1; done
fi
if ! pg_up; then
	echo "PostgreSQL is not reachable at 127.0.0.1:5432; start it or set OPENCHART_TEST_DB" >&2
	exit 1
fi
# Local trust authentication for the postgres user is what the default URL
# expects; check it and say what to do otherwise.
if ! psql "$OPENCHART_TEST_DB" -Atqc 'select 1' >/dev/null 2>&1; then
	echo "cannot connect to $OPENCHART_TEST_DB; set OPENCHART_TEST_DB to a URL that works" >&2
	exit 1
fi

# --- Chromium (browser tests) -----------------------------------------------
if ! command -v chromium >/dev/null; then
	log "installing Chromium for the browser tests"
	apt_install chromium
fi
export OPENCHART_CHROMIUM="${OPENCHART_CHROMIUM:-$(command -v chromium)}"

# --- JavaScript the browser tests load (axe-core, fhirclient) -------------------
command -v npm >/dev/null || { log "installing Node.js and npm"; apt_install nodejs npm; }
log "installing the browser tests' JavaScript (testdata/npm)"
npm install --prefix testdata/npm --no-audit --no-fund --ignore-scripts --loglevel=error

# --- the suite ----------------------------------------------------------------
pkgs=("$@")
[ ${#pkgs[@]} -gt 0 ] || pkgs=(./...)
log "go vet"
go vet "${pkgs[@]}"
log "staticcheck"
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 "${pkgs[@]}"
log "go test"
go test -count=1 -timeout 40m "${pkgs[@]}"
