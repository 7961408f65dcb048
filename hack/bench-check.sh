#!/usr/bin/env bash
# Measure the ext_authz gRPC Check of Gatehouse against the transport floor
# (an empty Check server) at 1, 8 and 64 concurrent streams on one
# connection, and print a markdown section for docs/benchmarks.md.
#
# The server under test runs pinned to SERVER_CPU and the load client to
# CLIENT_CPU, so the two never compete for a core. Every request carries the
# same token, so after the first Check Gatehouse answers from its cache.
#
# Settings (environment variables, with defaults):
#   LEVELS=1,8,64            concurrency levels
#   DURATION=10s WARMUP=2s   measured time and warm-up per level
#   REQUESTS_MAX=5000000     measured Checks per level at most
#   SERVER_CPU=0 CLIENT_CPU=1
#   GATEHOUSE_CMD="bin/gatehouse dev"   server under test; it must serve the
#                            issuer on ISSUER_ADDR and the Check on CHECK_ADDR
#   ISSUER_ADDR=127.0.0.1:8080 CHECK_ADDR=127.0.0.1:9001 FLOOR_ADDR=127.0.0.1:9101
#   CLIENT_ID=demo-client CLIENT_SECRET=demo-secret
#   ONLY_FLOOR=0             1 measures the floor alone, with a placeholder token
#
# Usage: hack/bench-check.sh > /tmp/bench.md
set -euo pipefail

cd "$(dirname "$0")/.."

LEVELS=${LEVELS:-1,8,64}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
REQUESTS_MAX=${REQUESTS_MAX:-5000000}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
GATEHOUSE_CMD=${GATEHOUSE_CMD:-bin/gatehouse dev}
ISSUER_ADDR=${ISSUER_ADDR:-127.0.0.1:8080}
CHECK_ADDR=${CHECK_ADDR:-127.0.0.1:9001}
FLOOR_ADDR=${FLOOR_ADDR:-127.0.0.1:9101}
CLIENT_ID=${CLIENT_ID:-demo-client}
CLIENT_SECRET=${CLIENT_SECRET:-demo-secret}
ONLY_FLOOR=${ONLY_FLOOR:-0}
REQUEST_PATH=/orders
REQUEST_HOST=api.example.com

log() { echo "bench-check: $*" >&2; }
fail() { log "$*"; exit 1; }

# PIDs of the processes this script started. cleanup stops only these.
started=()
workdir=$(mktemp -d)

# cleanup stops the started processes newest first, so the load client
# ends before the server it loads.
cleanup() {
	local pids=("${started[@]}")
	local i
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		stop_process "${pids[i]}"
	done
	rm -rf "$workdir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# stop_process PID: stop a process this script started and wait for it.
stop_process() {
	local pid=$1
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		wait "$pid" 2>/dev/null || true
	fi
	forget "$pid"
}

# forget PID: drop PID from the list of processes to stop.
forget() {
	local pid=$1
	local kept=()
	local other
	for other in "${started[@]}"; do
		[[ $other == "$pid" ]] || kept+=("$other")
	done
	started=("${kept[@]}")
}

# wait_port PID HOST:PORT: wait up to 10 s until the server PID accepts TCP
# connections on HOST:PORT.
wait_port() {
	local pid=$1 host=${2%:*} port=${2##*:}
	local attempt
	for ((attempt = 0; attempt < 100; attempt++)); do
		kill -0 "$pid" 2>/dev/null || fail "server $pid exited before listening on $2"
		if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	fail "server $pid did not listen on $2 within 10 s"
}

# memory PID: print "VmRSS VmHWM" of PID in KiB.
memory() {
	awk '/^VmRSS:/ { rss = $2 } /^VmHWM:/ { hwm = $2 } END { print rss, hwm }' "/proc/$1/status"
}

# load LABEL TARGET OUT: run every level against TARGET, pinned to CLIENT_CPU.
# The client runs in the background so that a signal reaches the trap at
# once, not after the last level.
load() {
	log "loading $1 at $2, levels $LEVELS"
	taskset -c "$CLIENT_CPU" bin/loadcheck run -target "$2" -token-file "$workdir/token" \
		-concurrency "$LEVELS" -duration "$DURATION" -warmup "$WARMUP" \
		-requests-max "$REQUESTS_MAX" -path "$REQUEST_PATH" -host "$REQUEST_HOST" \
		-expect ok -label "$1" -json >"$3" &
	local pid=$!
	started+=("$pid")
	local status=0
	wait "$pid" || status=$?
	forget "$pid"
	return "$status"
}

check_machine() {
	command -v taskset >/dev/null || fail "taskset not found; install util-linux"
	[[ $SERVER_CPU != "$CLIENT_CPU" ]] || fail "SERVER_CPU and CLIENT_CPU must differ"
	local cpus
	cpus=$(nproc --all)
	((SERVER_CPU < cpus && CLIENT_CPU < cpus)) || fail "this machine has $cpus CPUs; set SERVER_CPU and CLIENT_CPU below $cpus"
}

build() {
	mkdir -p bin
	go build -o bin/loadcheck ./hack/loadcheck
	if [[ $ONLY_FLOOR != 1 ]]; then
		go build -o bin/gatehouse ./cmd/gatehouse
	fi
}

# bench_gatehouse: start Gatehouse, fetch a token, measure it, record memory.
bench_gatehouse() {
	log "starting $GATEHOUSE_CMD on CPU $SERVER_CPU"
	# GATEHOUSE_CMD is split into words on purpose: it is a command line.
	# shellcheck disable=SC2086
	taskset -c "$SERVER_CPU" $GATEHOUSE_CMD >"$workdir/gatehouse.log" 2>&1 &
	local pid=$!
	started+=("$pid")
	wait_port "$pid" "$ISSUER_ADDR"
	wait_port "$pid" "$CHECK_ADDR"

	LOADCHECK_CLIENT_SECRET=$CLIENT_SECRET bin/loadcheck token \
		-issuer "http://$ISSUER_ADDR" -client-id "$CLIENT_ID" -out "$workdir/token"
	read -r idle_rss _ < <(memory "$pid")
	if ! load gatehouse "$CHECK_ADDR" "$workdir/gatehouse.jsonl"; then
		tail -n 20 "$workdir/gatehouse.log" >&2
		fail "load run against Gatehouse failed"
	fi
	read -r end_rss end_hwm < <(memory "$pid")
	stop_process "$pid"
}

# bench_floor: start the floor server, measure it, record memory.
bench_floor() {
	log "starting the floor server on CPU $SERVER_CPU"
	taskset -c "$SERVER_CPU" bin/loadcheck floor -listen "$FLOOR_ADDR" 2>"$workdir/floor.log" &
	local pid=$!
	started+=("$pid")
	wait_port "$pid" "$FLOOR_ADDR"
	read -r floor_idle_rss _ < <(memory "$pid")
	load floor "$FLOOR_ADDR" "$workdir/floor.jsonl"
	read -r floor_rss floor_hwm < <(memory "$pid")
	stop_process "$pid"
}

# write_placeholder_token: a 700-byte token-shaped string for floor-only
# runs, near the size of an ES256-signed JWT with a few claims (an estimate).
write_placeholder_token() {
	printf 'eyJ%0200d.%0400d.%094d\n' 0 0 0 | tr 0 A >"$workdir/token"
}

print_report() {
	local files=("$workdir/floor.jsonl")
	[[ $ONLY_FLOOR == 1 ]] || files+=("$workdir/gatehouse.jsonl")

	echo "### ext_authz gRPC Check, one connection, $(date -u +%Y-%m-%d)"
	echo
	echo "- Machine: $(nproc --all) CPUs, $(lscpu | sed -n 's/^Model name: *//p' | head -n 1)"
	echo "- Go: $(go version)"
	echo "- Server on CPU $SERVER_CPU, load client on CPU $CLIENT_CPU (taskset)"
	echo "- Load average (1, 5, 15 min) before the run: $load_before; other processes share these CPUs"
	local settings="LEVELS=$LEVELS DURATION=$DURATION WARMUP=$WARMUP"
	[[ $ONLY_FLOOR != 1 ]] || settings+=" ONLY_FLOOR=1"
	echo "- Command: \`$settings hack/bench-check.sh\`"
	echo "- Each level: $WARMUP warm-up, then $DURATION or $REQUESTS_MAX Checks;" \
		"GET $REQUEST_HOST$REQUEST_PATH with the same Bearer token every time"
	echo
	bin/loadcheck report -markdown "${files[@]}"
	echo
	echo "| server | RSS before any Check | RSS after the last level | peak RSS (VmHWM) |"
	echo "| --- | ---: | ---: | ---: |"
	echo "| floor | ${floor_idle_rss} KiB | ${floor_rss} KiB | ${floor_hwm} KiB |"
	if [[ $ONLY_FLOOR != 1 ]]; then
		echo "| gatehouse ($GATEHOUSE_CMD) | ${idle_rss} KiB | ${end_rss} KiB | ${end_hwm} KiB |"
	fi
}

main() {
	check_machine
	load_before=$(cut -d ' ' -f 1-3 /proc/loadavg)
	build
	if [[ $ONLY_FLOOR == 1 ]]; then
		write_placeholder_token
	else
		bench_gatehouse
	fi
	bench_floor
	print_report
}

main "$@"
