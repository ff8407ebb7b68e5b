#!/usr/bin/env bash
# scripts/s3.sh start|stop|status
#
# Runs a real S3-compatible server for the integration tests and for local use: versitygw with
# its posix backend, built from the Go module proxy (no Docker, no binary downloads), listening
# on 127.0.0.1 only, with one bucket for Tangerine's staged uploads and files.
#
#   start   builds versitygw once (cached in .cache/bin), starts it in the background, waits
#           until it answers and creates the bucket; a no-op when it already runs
#   stop    stops the server started by start (found through its pid file)
#   status  exits 0 when the server is up and answering signed requests
#
# Everything lives under the repository root this script belongs to, so any clone works:
# the binary in .cache/bin, the data, pid file and log in .run/s3. Point the tests at it with:
#
#   export TANGERINE_S3_ENDPOINT=http://127.0.0.1:7070 TANGERINE_S3_BUCKET=tangerine \
#          TANGERINE_S3_REGION=us-east-1 TANGERINE_S3_ACCESS_KEY=tangerine \
#          TANGERINE_S3_SECRET=tangerine-secret TANGERINE_S3_FORCE_PATH_STYLE=true
#
# The listen address, credentials and bucket can be overridden with S3_ADDR, S3_ACCESS_KEY,
# S3_SECRET, S3_REGION and S3_BUCKET.
set -euo pipefail

# Every go command of the project runs on one pinned toolchain (PocketBase v0.40 needs Go 1.27,
# newer than the machine's); go fetches it from the module proxy when it is missing.
export GOTOOLCHAIN=go1.27.3

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERSITYGW_VERSION="v1.8.0"
BIN_DIR="$ROOT/.cache/bin"
BIN="$BIN_DIR/versitygw"
RUN_DIR="$ROOT/.run/s3"
DATA_DIR="$RUN_DIR/data"
PID_FILE="$RUN_DIR/versitygw.pid"
ADDR_FILE="$RUN_DIR/versitygw.addr" # where the running server listens, for status and restarts
LOG_FILE="$RUN_DIR/versitygw.log"

ADDR="${S3_ADDR:-127.0.0.1:7070}"
ACCESS_KEY="${S3_ACCESS_KEY:-tangerine}"
SECRET="${S3_SECRET:-tangerine-secret}"
REGION="${S3_REGION:-us-east-1}"
BUCKET="${S3_BUCKET:-tangerine}"
START_TIMEOUT="${S3_START_TIMEOUT:-60}"
EMPTY_SHA256="e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

log() { printf 's3.sh: %s\n' "$*" >&2; }

# fail reports a problem found before this run started the server: its log would be stale.
fail() {
	log "$*"
	exit 1
}

# die reports a problem with the server this run started or found running, with its log tail.
die() {
	log "$*"
	if [[ -f "$LOG_FILE" ]]; then
		log "last lines of $LOG_FILE:"
		tail -n 40 "$LOG_FILE" >&2 || true
	fi
	exit 1
}

# signed_curl makes a SigV4-signed request with curl's built-in signer (curl >= 7.75), so the
# script needs neither the AWS CLI nor a helper program. It prints the HTTP status code.
# S3 wants x-amz-content-sha256, which older curls do not add: every request here has an
# empty body, so it is the SHA-256 of nothing.
signed_curl() {
	local method="$1" path="$2"
	curl -sS -o /dev/null -w '%{http_code}' --max-time 5 \
		-H "x-amz-content-sha256: $EMPTY_SHA256" \
		--aws-sigv4 "aws:amz:${REGION}:s3" --user "${ACCESS_KEY}:${SECRET}" \
		-X "$method" "http://${ADDR}${path}"
}

# pid_alive checks that the recorded pid is still our server: after a reboot the number may
# belong to an unrelated process, which stop must never kill.
pid_alive() {
	[[ -f "$PID_FILE" ]] || return 1
	local pid
	pid="$(cat "$PID_FILE" 2>/dev/null || true)"
	[[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
	[[ "$(ps -p "$pid" -o args= 2>/dev/null || true)" == "$BIN "* ]]
}

answering() {
	[[ "$(signed_curl GET / 2>/dev/null || true)" == "200" ]]
}

build() {
	if [[ -x "$BIN" ]]; then
		return
	fi
	command -v go >/dev/null || fail "go is not installed (any Go >= 1.21 works: GOTOOLCHAIN fetches $GOTOOLCHAIN)"
	log "building versitygw $VERSITYGW_VERSION into $BIN (first run only, a few minutes)"
	mkdir -p "$BIN_DIR"
	local started=$SECONDS
	GOBIN="$BIN_DIR" GOFLAGS=-buildvcs=false \
		go install "github.com/versity/versitygw/cmd/versitygw@${VERSITYGW_VERSION}" ||
		fail "go install of versitygw $VERSITYGW_VERSION failed"
	log "built versitygw in $((SECONDS - started))s"
}

ensure_bucket() {
	local code
	code="$(signed_curl PUT "/${BUCKET}")" || die "could not reach versitygw on $ADDR to create bucket $BUCKET"
	case "$code" in
	200) log "created bucket $BUCKET" ;;
	409) ;; # BucketAlreadyOwnedByYou: a restart over an existing data dir
	*) die "creating bucket $BUCKET failed with HTTP $code" ;;
	esac
}

start() {
	command -v curl >/dev/null || fail "curl is required"
	if pid_alive; then
		local running_addr
		running_addr="$(cat "$ADDR_FILE" 2>/dev/null || true)"
		if [[ "$running_addr" != "$ADDR" ]]; then
			fail "versitygw (pid $(cat "$PID_FILE")) already runs on ${running_addr:-an unknown address}; stop it before starting on $ADDR"
		fi
		answering || die "versitygw (pid $(cat "$PID_FILE")) is running but not answering on $ADDR"
		ensure_bucket
		log "already running on $ADDR (pid $(cat "$PID_FILE"))"
		return
	fi
	if answering || curl -s -o /dev/null --max-time 2 "http://${ADDR}/"; then
		fail "something else already listens on $ADDR; stop it or set S3_ADDR"
	fi

	build
	mkdir -p "$DATA_DIR"
	rm -f "$PID_FILE"

	log "starting versitygw on $ADDR (data: $DATA_DIR, log: $LOG_FILE)"
	# setsid gives the server its own session, so it outlives this shell and a terminal's
	# hang-up; the credentials go through the environment to keep them out of ps output.
	ROOT_ACCESS_KEY="$ACCESS_KEY" ROOT_SECRET_KEY="$SECRET" \
		setsid "$BIN" --quiet --port "$ADDR" --region "$REGION" posix "$DATA_DIR" \
		>"$LOG_FILE" 2>&1 </dev/null &
	echo $! >"$PID_FILE"
	echo "$ADDR" >"$ADDR_FILE"

	local deadline=$((SECONDS + START_TIMEOUT))
	until answering; do
		if ! pid_alive; then
			rm -f "$PID_FILE" "$ADDR_FILE"
			die "versitygw exited during start-up"
		fi
		if ((SECONDS >= deadline)); then
			stop >/dev/null 2>&1 || true
			die "versitygw did not answer on $ADDR within ${START_TIMEOUT}s"
		fi
		sleep 0.5
	done
	ensure_bucket
	log "up on http://$ADDR (pid $(cat "$PID_FILE")), bucket $BUCKET"
}

stop() {
	if ! pid_alive; then
		rm -f "$PID_FILE" "$ADDR_FILE"
		log "not running"
		return
	fi
	local pid
	pid="$(cat "$PID_FILE")"
	kill "$pid"
	# Bounded wait for a clean shutdown, then force it.
	for _ in $(seq 1 40); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.25
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "versitygw (pid $pid) ignored SIGTERM; killing it"
		kill -9 "$pid" 2>/dev/null || true
	fi
	rm -f "$PID_FILE" "$ADDR_FILE"
	log "stopped (pid $pid)"
}

status() {
	if pid_alive; then
		ADDR="$(cat "$ADDR_FILE" 2>/dev/null || echo "$ADDR")"
	fi
	if pid_alive && answering; then
		log "up on http://$ADDR (pid $(cat "$PID_FILE"))"
		return 0
	fi
	log "down"
	return 1
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status) status ;;
*)
	echo "usage: $0 start|stop|status" >&2
	exit 2
	;;
esac
