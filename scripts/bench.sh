#!/usr/bin/env bash
# The benchmark: reproduces docs/PERFORMANCE.md's tables on this machine.
# See usage below (scripts/bench.sh --help).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

usage() {
	cat <<'EOF'
Usage: scripts/bench.sh [options]

Builds openchart, makes the scaled data sets, and for each size and store
starts `openchart serve` on a free loopback port with a fresh data directory
or database, makes an access token, runs `openchart bench run` (import over
HTTP and NDJSON, read by id, the query mix, the PostgreSQL ceilings, targets),
stops the server, and writes each table (text, JSON, SVG charts), the
profiles, the soak and a markdown fragment (results.md) into the output
directory. Installs pgbench and starts PostgreSQL when they are missing.

Options (defaults in brackets):
  --sizes LIST          patients per data set, comma-separated [120,1000]
  --patients-10k        also 10,000 patients, on PostgreSQL only (long; about
                        10 GB of disk); or OPENCHART_BENCH_10K=1
  --stores LIST         embedded,postgres or one of them [embedded,postgres]
  --clients LIST        concurrency levels [1,8,32]
  --duration D          time per query row and level [10s]
  --out DIR             output directory [docs/performance]
  --soak D              soak length, 0 for none [10m]
  --soak-on STORE-SIZE  the run the soak follows [postgres-1000; else the last run]
  --soak-interval D     length of each soak interval [1m]
  --no-profile          take no profiles (default: CPU profiles of the import
                        phases and the query mix, heap at the end, when the
                        server has --pprof)
  --profile-seconds N   length of each server CPU profile [20]
  --db URL              PostgreSQL for the server databases, scratch database
                        and ceilings [postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable]
                        (or OPENCHART_BENCH_DB)
  --src DIR             Synthea transaction Bundles to scale [../shared/data/synthea-120]
  --work DIR            binary, data sets (kept and reused), server data and logs
                        [/tmp/openchart-bench] (or OPENCHART_BENCH_WORK)
  --keep                keep the servers' data directories and databases
  -h, --help            this text

Example, a quick check: scripts/bench.sh --sizes 120 --duration 2s --soak 1m --out /tmp/bench-out
EOF
}

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'bench.sh: %s\n' "$*" >&2; exit 1; }

sizes=120,1000
stores=embedded,postgres
clients=1,8,32
duration=10s
out=docs/performance
soak=10m
soak_on=postgres-1000
soak_interval=1m
profile=1
profile_seconds=20
tenk=${OPENCHART_BENCH_10K:-}
db=${OPENCHART_BENCH_DB:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
src=../shared/data/synthea-120
work=${OPENCHART_BENCH_WORK:-/tmp/openchart-bench}
keep=
args_given=("$@")

while [ $# -gt 0 ]; do
	opt=$1
	shift
	case $opt in
	-h | --help) usage; exit 0 ;;
	--patients-10k) tenk=1; continue ;;
	--no-profile) profile=; continue ;;
	--keep) keep=1; continue ;;
	--*=*) val=${opt#*=}; opt=${opt%%=*} ;;
	--sizes | --stores | --clients | --duration | --out | --soak | --soak-on | --soak-interval | --profile-seconds | --db | --src | --work)
		[ $# -gt 0 ] || die "$opt needs a value"
		val=$1
		shift ;;
	*) usage >&2; die "unknown option $opt" ;;
	esac
	case $opt in
	--sizes) sizes=$val ;;
	--stores) stores=$val ;;
	--clients) clients=$val ;;
	--duration) duration=$val ;;
	--out) out=$val ;;
	--soak) soak=$val ;;
	--soak-on) soak_on=$val ;;
	--soak-interval) soak_interval=$val ;;
	--profile-seconds) profile_seconds=$val ;;
	--db) db=$val ;;
	--src) src=$val ;;
	--work) work=$val ;;
	*) usage >&2; die "unknown option $opt" ;;
	esac
done

# --- the runs ------------------------------------------------------------------
[[ $sizes =~ ^[0-9]+(,[0-9]+)*$ ]] || die "--sizes must be numbers separated by commas, not $sizes"
[[ $clients =~ ^[0-9]+(,[0-9]+)*$ ]] || die "--clients must be numbers separated by commas, not $clients"
[[ $profile_seconds =~ ^[0-9]+$ ]] || die "--profile-seconds must be a number of seconds"
IFS=, read -r -a size_list <<<"$sizes"
IFS=, read -r -a store_list <<<"$stores"
for s in "${store_list[@]}"; do
	case $s in embedded | postgres) ;; *) die "unknown store $s (embedded or postgres)" ;; esac
done
if [ -n "$tenk" ] && [ "$tenk" != 0 ]; then
	size_list+=(10000)
fi
runs=()
for size in "${size_list[@]}"; do
	for store in "${store_list[@]}"; do
		# 10,000 patients on PostgreSQL only (issue #7: "where disk and time allow").
		if [ "$size" -ge 10000 ] && [ "$store" = embedded ]; then
			continue
		fi
		runs+=("$store-$size")
	done
done
[ ${#runs[@]} -gt 0 ] || die "nothing to run (sizes $sizes, stores $stores)"
if [ "$soak" != 0 ] && [[ ! " ${runs[*]} " =~ " $soak_on " ]]; then
	log "no $soak_on run: the soak follows ${runs[-1]}"
	soak_on=${runs[-1]}
fi

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

# --- prerequisites: Go, PostgreSQL with psql and pgbench -------------------------
command -v go >/dev/null || die "Go 1.26 or newer is required (https://go.dev/dl/)"
[ -d "$src" ] || die "no Synthea Bundles at $src (--src DIR; README: ../shared/data/synthea-120)"
if ! command -v pg_isready >/dev/null || ! command -v psql >/dev/null; then
	log "installing PostgreSQL"
	apt_install postgresql
fi
if ! command -v pgbench >/dev/null; then
	# Debian ships pgbench with the server package (postgresql-15) and
	# postgresql-contrib.
	log "installing pgbench"
	apt_install postgresql-contrib
fi
pg_host=$(sed -E 's#^[a-z]+://([^@/]*@)?([^:/?]+).*#\2#' <<<"$db")
pg_port=$(sed -nE 's#^[a-z]+://([^@/]*@)?[^:/?]+:([0-9]+).*#\2#p' <<<"$db")
pg_port=${pg_port:-5432}
pg_up() { pg_isready -q -h "$pg_host" -p "$pg_port" 2>/dev/null; }
if ! pg_up; then
	log "starting PostgreSQL"
	if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
		ver=$(ls /etc/postgresql | sort -V | tail -n1)
		as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
	fi
	for _ in $(seq 1 30); do pg_up && break; sleep 1; done
fi
pg_up || die "PostgreSQL is not reachable at $pg_host:$pg_port; start it or give --db"
psql "$db" -Atqc 'select 1' >/dev/null 2>&1 || die "cannot connect to $db; give --db a URL that works"

# dburl NAME: the --db URL with its database replaced by NAME.
dburl() {
	local base=${db%%\?*} query=
	[ "$base" = "$db" ] || query="?${db#*\?}"
	printf '%s/%s%s' "${base%/*}" "$1" "$query"
}

# quote ARGS: a command line to paste into a shell.
quote() {
	local a s=
	for a in "$@"; do
		if [[ $a =~ ^[A-Za-z0-9_./:=@,+-]+$ ]]; then s+="$a "; else s+="'${a//\'/\'\\\'\'}' "; fi
	done
	printf '%s' "${s% }"
}

# free_port: a loopback TCP port nothing listens on.
free_port() {
	local p
	for _ in $(seq 1 100); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	die "found no free port"
}

# --- servers are stopped and scratch state removed on exit ------------------------
server_pid=
child_pid=
cleanup_dirs=()
cleanup_dbs=()
stop_server() {
	if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
		kill "$server_pid" 2>/dev/null || true
		for _ in $(seq 1 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.2; done
		kill -9 "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	server_pid=
}
# run_child CMD...: runs a harness command in the background and waits for
# it, so that a signal reaches the trap at once (bash runs traps only
# between foreground commands); the trap stops it.
run_child() {
	local rc=0
	"$@" &
	child_pid=$!
	wait "$child_pid" || rc=$?
	child_pid=
	return "$rc"
}
cleanup() {
	if [ -n "$child_pid" ]; then
		kill "$child_pid" 2>/dev/null || true
		wait "$child_pid" 2>/dev/null || true
	fi
	stop_server
	if [ -z "$keep" ]; then
		local d
		for d in "${cleanup_dirs[@]}"; do rm -rf -- "$d"; done
		for d in "${cleanup_dbs[@]}"; do
			psql "$db" -qc "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null 2>&1 || true
		done
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- build and data sets --------------------------------------------------------------
mkdir -p "$work" "$out"
out=$(cd "$out" && pwd)
bin=$work/openchart
log "building $bin"
go build -o "$bin" ./cmd/openchart
pprof_flag=
if [ -n "$profile" ]; then
	# The help is read whole first: with pipefail, grep -q leaving at its
	# first match could fail the pipeline on the writer's broken pipe.
	serve_help=$("$bin" serve --help 2>&1 || true)
	if grep -q -- '-pprof' <<<"$serve_help"; then
		pprof_flag=1
	else
		log "this build's serve has no --pprof: only the in-process NDJSON import is profiled"
	fi
fi

for size in "${size_list[@]}"; do
	data=$work/data-$size
	if [ -f "$data/manifest.json" ] && grep -q "\"patients\": *$size\b" "$data/manifest.json"; then
		log "data set of $size patients: $data (made before; delete it to make it again)"
		continue
	fi
	log "making the data set of $size patients in $data"
	rm -rf -- "$data"
	"$bin" bench data --patients "$size" --out "$data" --seed 1 --src "$src"
done

# --- the markdown fragment ----------------------------------------------------------------
md=$out/results.md
rel=$(realpath -m --relative-to="$root/docs" "$out")
pg_version=$(psql "$db" -Atqc 'show server_version')
{
	echo "<!-- written by scripts/bench.sh on $(date -u '+%Y-%m-%d %H:%M UTC'); docs/PERFORMANCE.md includes it as it is -->"
	echo
	echo "Command: \`scripts/bench.sh $(quote "${args_given[@]+"${args_given[@]}"}")\` at commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with local changes)')."
	echo
	echo "Machine: $(nproc) CPUs ($(sed -nE 's/^model name\s*:\s*//p' /proc/cpuinfo | head -n1)), $(awk '/MemTotal/ {printf "%.1f GB", $2/1048576}' /proc/meminfo) RAM;"
	echo "PostgreSQL $pg_version (shared_buffers $(psql "$db" -Atqc 'show shared_buffers'), autovacuum $(psql "$db" -Atqc 'show autovacuum')); $(go version | cut -d' ' -f3)."
	echo
} >"$md"

# --- one run ------------------------------------------------------------------------------
run_one() {
	local name=$1 store=${1%-*} size=${1##*-}
	local data=$work/data-$size
	local serve_args token_args bench_args serve_log=$work/serve-$name.log
	local server_db= dbname=
	log "run $name"
	if [ "$store" = embedded ]; then
		local dir=$work/oc-$name
		rm -rf -- "$dir"
		cleanup_dirs+=("$dir")
		serve_args=(--data "$dir")
	else
		dbname=oc_bench_$size
		psql "$db" -qc "DROP DATABASE IF EXISTS $dbname WITH (FORCE)" >/dev/null
		psql "$db" -qc "CREATE DATABASE $dbname" >/dev/null
		cleanup_dbs+=("$dbname")
		server_db=$(dburl "$dbname")
		serve_args=(--db "$server_db")
	fi
	local pprof_addr=
	if [ -n "$pprof_flag" ]; then
		pprof_addr=127.0.0.1:$(free_port)
	fi
	local serve_cmd=("$bin" serve --addr 127.0.0.1:0 "${serve_args[@]}")
	[ -z "$pprof_addr" ] || serve_cmd+=(--pprof "$pprof_addr")
	"${serve_cmd[@]}" >"$serve_log" 2>&1 &
	server_pid=$!
	local url=
	for _ in $(seq 1 600); do
		url=$(sed -nE 's#^OpenChart is running at (http://[^/ ]+)/.*#\1#p' "$serve_log" | head -n1)
		[ -z "$url" ] || break
		kill -0 "$server_pid" 2>/dev/null || { cat "$serve_log" >&2; die "the server of $name did not start"; }
		sleep 0.2
	done
	[ -n "$url" ] || { cat "$serve_log" >&2; die "the server of $name did not start in 2 minutes"; }
	log "$name: server $server_pid at $url"

	token_args=(token "${serve_args[@]}" --base-url "$url" --scope 'system/*.cruds' --ttl 24h)
	local token
	token=$("$bin" "${token_args[@]}" | tail -n1)
	[ -n "$token" ] || die "no token for $name"

	bench_args=(bench run --target "$url" --pid "$server_pid" --data "$data" --db "$db" --ndjson-store "$store"
		--clients "$clients" --duration "$duration" --import-timeout 12h
		--name "$name" --json "$out/$name.json" --svg "$out")
	[ -z "$server_db" ] || bench_args+=(--server-db "$server_db")
	if [ -n "$profile" ]; then
		rm -rf -- "$out/profiles/$name"
		bench_args+=(--profile "$out/profiles/$name" --profile-seconds "$profile_seconds")
		[ -z "$pprof_addr" ] || bench_args+=(--pprof-url "$pprof_addr")
	fi
	local load_before load_after
	load_before=$(cut -d' ' -f1-3 /proc/loadavg)
	# The table is printed at the end; progress goes to stderr meanwhile.
	OPENCHART_TOKEN=$token run_child "$bin" "${bench_args[@]}" >"$out/$name.txt"
	cat "$out/$name.txt"
	load_after=$(cut -d' ' -f1-3 /proc/loadavg)

	local soaked=
	if [ "$soak" != 0 ] && [ "$name" = "$soak_on" ]; then
		local soak_args=(bench soak --target "$url" --pid "$server_pid" --duration "$soak" --interval "$soak_interval"
			--name "$name" --json "$out/$name-soak.json" --svg "$out")
		log "$name: soak for $soak"
		OPENCHART_TOKEN=$token run_child "$bin" "${soak_args[@]}" >"$out/$name-soak.txt"
		cat "$out/$name-soak.txt"
		soaked=1
	fi
	stop_server

	local label="embedded store"
	[ "$store" = embedded ] || label=PostgreSQL
	{
		echo "### $(sed -E ':a;s/([0-9])([0-9]{3})($|,)/\1,\2\3/;ta' <<<"$size") patients, $label"
		echo
		echo "Load average (1/5/15 min) before the run $load_before, after $load_after."
		echo
		echo '```sh'
		[ -z "$dbname" ] || echo "psql $(quote "$db") -c 'CREATE DATABASE $dbname'"
		echo "$(quote openchart "${serve_cmd[@]:1}") &"
		echo "export OPENCHART_TOKEN=\$($(quote openchart "${token_args[@]}") | tail -n1)"
		echo "$(quote openchart "${bench_args[@]}")"
		[ -z "$soaked" ] || echo "$(quote openchart "${soak_args[@]}")"
		echo '```'
		echo
		echo '```'
		cat "$out/$name.txt"
		echo '```'
		echo
		echo "![throughput, $label, $size patients]($rel/$name-throughput.svg)"
		echo "![p99 latency, $label, $size patients]($rel/$name-p99.svg)"
		echo
		if [ -n "$profile" ] && [ -d "$out/profiles/$name" ]; then
			echo "Profiles (pprof, with \`go tool pprof -top\` text next to each):"
			local f
			for f in "$out/profiles/$name"/*.pb.gz; do
				[ -e "$f" ] || continue
				echo "- [$(basename "$f")]($rel/profiles/$name/$(basename "$f")) ([top]($rel/profiles/$name/$(basename "$f" .pb.gz).top.txt))"
			done
			echo
		fi
		if [ -n "$soaked" ]; then
			echo "#### Soak at 80% of the query mix's peak, $label, $size patients"
			echo
			echo '```'
			cat "$out/$name-soak.txt"
			echo '```'
			echo
			echo "![soak latency, $label, $size patients]($rel/$name-soak-latency.svg)"
			echo "![soak RSS, $label, $size patients]($rel/$name-soak-rss.svg)"
			echo
		fi
	} >>"$md"
	if [ -z "$keep" ]; then
		[ "$store" = embedded ] && rm -rf -- "$work/oc-$name"
		[ -z "$dbname" ] || psql "$db" -qc "DROP DATABASE IF EXISTS $dbname WITH (FORCE)" >/dev/null
	fi
}

for run in "${runs[@]}"; do
	run_one "$run"
done
log "done: $md"
