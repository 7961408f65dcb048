#!/usr/bin/env bash
# Measure the ext_authz gRPC Check of Gatehouse against the transport floor
# (an empty Check server) at 1, 8 and 64 concurrent streams on one
# connection, and print a markdown section for docs/benchmarks.md.
#
# The server under test, a standalone `gatehouse extauthz`, runs pinned to
# SERVER_CPU and the load client to CLIENT_CPU, so the two never compete for
# a core. `gatehouse dev` supplies the issuer; it shares CLIENT_CPU and is
# idle during the load. Every request carries the same token, so after the
# first Check Gatehouse serves it from its cache. Two floors are measured:
# a plain grpc.NewServer(), and one with extauthz.ServerOptions() (the same
# codec and options as Gatehouse), which isolates the cost of the check.
#
# Settings (environment variables, with defaults):
#   LEVELS=1,8,64            concurrency levels
#   DURATION=10s WARMUP=2s   measured time and warm-up per level
#   REQUESTS_MAX=5000000     measured Checks per level at most
#   SERVER_CPU=0 CLIENT_CPU=1
#   ISSUER_ADDR=127.0.0.1:8080 CHECK_ADDR=127.0.0.1:9001 FLOOR_ADDR=127.0.0.1:9101
#   ADMIN_ADDR=127.0.0.1:9003   health endpoint of the server under test
#   CLIENT_ID=demo-client CLIENT_SECRET=demo-secret
#   ROUNDS=3                 rounds; each runs every server at every level, and
#                            the summary pairs servers within a round
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
ISSUER_ADDR=${ISSUER_ADDR:-127.0.0.1:8080}
ADMIN_ADDR=${ADMIN_ADDR:-127.0.0.1:9003}
CHECK_ADDR=${CHECK_ADDR:-127.0.0.1:9001}
FLOOR_ADDR=${FLOOR_ADDR:-127.0.0.1:9101}
CLIENT_ID=${CLIENT_ID:-demo-client}
CLIENT_SECRET=${CLIENT_SECRET:-demo-secret}
ONLY_FLOOR=${ONLY_FLOOR:-0}
ROUNDS=${ROUNDS:-3}
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

# wait_ready PID HOST:PORT: wait up to 10 s until GET /readyz on HOST:PORT
# returns 200, which the server under test does once it has the issuer's keys.
wait_ready() {
	local pid=$1 host=${2%:*} port=${2##*:}
	local attempt status
	for ((attempt = 0; attempt < 100; attempt++)); do
		kill -0 "$pid" 2>/dev/null || fail "server $pid exited before it was ready"
		status=$( (exec 3<>"/dev/tcp/$host/$port" && printf 'GET /readyz HTTP/1.0\r\n\r\n' >&3 && head -n 1 <&3) 2>/dev/null || true)
		[[ $status == *" 200 "* ]] && return 0
		sleep 0.1
	done
	fail "server $pid was not ready on $2 within 10 s"
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
		-expect ok -label "$1" -json >>"$3" &
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
		# Built the way make build builds it, so the memory figures are those
		# of the binary that ships.
		CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o bin/gatehouse ./cmd/gatehouse
	fi
}

# start_issuer: run `gatehouse dev` for its issuer, on the client's CPU, with
# its own check on ports out of the way, and fetch a token from it.
start_issuer() {
	log "starting the issuer (gatehouse dev) on CPU $CLIENT_CPU"
	taskset -c "$CLIENT_CPU" bin/gatehouse dev --issuer-listen "$ISSUER_ADDR" \
		--grpc-listen 127.0.0.1:0 --http-listen "" --admin-listen 127.0.0.1:0 >"$workdir/issuer.log" 2>&1 &
	local pid=$!
	started+=("$pid")
	wait_port "$pid" "$ISSUER_ADDR"
	LOADCHECK_CLIENT_SECRET=$CLIENT_SECRET bin/loadcheck token \
		-issuer "http://$ISSUER_ADDR" -client-id "$CLIENT_ID" -out "$workdir/token"
}

# bench_gatehouse: start the ext_authz server, measure it, record memory.
bench_gatehouse() {
	log "starting gatehouse extauthz on CPU $SERVER_CPU"
	taskset -c "$SERVER_CPU" bin/gatehouse extauthz --issuer-url "http://$ISSUER_ADDR" --audience demo-api \
		--grpc-listen "$CHECK_ADDR" --http-listen "" --admin-listen "$ADMIN_ADDR" >"$workdir/gatehouse.log" 2>&1 &
	local pid=$!
	started+=("$pid")
	wait_ready "$pid" "$ADMIN_ADDR"
	read -r idle_rss _ < <(memory "$pid")
	if ! load gatehouse "$CHECK_ADDR" "$workdir/gatehouse.jsonl"; then
		tail -n 20 "$workdir/gatehouse.log" >&2
		fail "load run against Gatehouse failed"
	fi
	read -r end_rss end_hwm < <(memory "$pid")
	stop_process "$pid"
}

# bench_floor OPTIONS: start the floor server with -server-options OPTIONS,
# measure it, record memory.
bench_floor() {
	local options=$1
	log "starting the floor server ($options options) on CPU $SERVER_CPU"
	taskset -c "$SERVER_CPU" bin/loadcheck floor -listen "$FLOOR_ADDR" -server-options "$options" 2>"$workdir/floor-$options.log" &
	local pid=$!
	started+=("$pid")
	wait_port "$pid" "$FLOOR_ADDR"
	local idle rss hwm
	read -r idle _ < <(memory "$pid")
	load "floor-$options" "$FLOOR_ADDR" "$workdir/floor-$options.jsonl"
	read -r rss hwm < <(memory "$pid")
	stop_process "$pid"
	floor_memory[$options]="| floor ($options options) | ${idle} KiB | ${rss} KiB | ${hwm} KiB |"
}

# write_placeholder_token: a 700-byte token-shaped string for floor-only
# runs, near the size of an ES256-signed JWT with a few claims (an estimate).
write_placeholder_token() {
	printf 'eyJ%0200d.%0400d.%094d\n' 0 0 0 | tr 0 A >"$workdir/token"
}

print_report() {
	local files=("$workdir/floor-plain.jsonl" "$workdir/floor-gatehouse.jsonl")
	local ratio=(-ratio-to floor-plain)
	[[ $ONLY_FLOOR == 1 ]] || files+=("$workdir/gatehouse.jsonl")

	echo "### ext_authz gRPC Check, one connection, $(date -u +%Y-%m-%d)"
	echo
	echo "- Machine: $(nproc --all) CPUs, $(lscpu | sed -n 's/^Model name: *//p' | head -n 1)"
	echo "- Go: $(go version)"
	echo "- Server on CPU $SERVER_CPU, load client on CPU $CLIENT_CPU (taskset)"
	echo "- Load average (1, 5, 15 min) before the run: $load_before; other processes share these CPUs"
	local settings="LEVELS=$LEVELS DURATION=$DURATION WARMUP=$WARMUP ROUNDS=$ROUNDS"
	[[ $ONLY_FLOOR != 1 ]] || settings+=" ONLY_FLOOR=1"
	echo "- Command: \`$settings hack/bench-check.sh\`"
	echo "- $ROUNDS rounds; in each, every server runs every level once." \
		"Each level: $WARMUP warm-up, then $DURATION or $REQUESTS_MAX Checks;" \
		"GET $REQUEST_HOST$REQUEST_PATH with the same Bearer token every time"
	echo
	bin/loadcheck report -markdown "${ratio[@]}" "${files[@]}"
	if [[ $ONLY_FLOOR != 1 ]]; then
		echo
		bin/loadcheck report -markdown -ratio-to floor-gatehouse "${files[@]}" | sed -n '/median ratio/,$p'
	fi
	echo
	echo "| server | RSS before any Check | RSS after the last level | peak RSS (VmHWM) |"
	echo "| --- | ---: | ---: | ---: |"
	printf '%s\n' "${floor_memory[plain]}" "${floor_memory[gatehouse]}"
	if [[ $ONLY_FLOOR != 1 ]]; then
		echo "| gatehouse extauthz | ${idle_rss} KiB | ${end_rss} KiB | ${end_hwm} KiB |"
	fi
}

main() {
	check_machine
	load_before=$(cut -d ' ' -f 1-3 /proc/loadavg)
	build
	declare -gA floor_memory=()
	if [[ $ONLY_FLOOR == 1 ]]; then
		write_placeholder_token
	else
		start_issuer
	fi
	local round
	for ((round = 1; round <= ROUNDS; round++)); do
		log "round $round of $ROUNDS"
		[[ $ONLY_FLOOR == 1 ]] || bench_gatehouse
		bench_floor plain
		bench_floor gatehouse
	done
	print_report
}

main "$@"
