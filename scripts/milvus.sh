#!/usr/bin/env bash
# scripts/milvus.sh start|stop|status
#
# Runs a real Milvus server for the integration tests, the vector benchmark and local use:
# Milvus Lite from PyPI (milvus-lite, the Milvus project's own lightweight server) serving the
# Milvus gRPC API on 127.0.0.1:19530, so the Go client (github.com/milvus-io/milvus/client/v2)
# talks to it exactly as to a Milvus standalone. No Docker and no binary downloads: a Python
# virtualenv with two pinned packages.
#
#   start   creates the virtualenv once (cached in .cache/milvus-venv), starts the server in the
#           background, waits until it answers a real API call; a no-op when it already runs
#   stop    stops the server started by start (found through its pid file), gracefully first
#   status  exits 0 when the server is up and answering
#
# Why milvus-lite 3.x: its `milvus-lite server` command serves the Milvus gRPC API on a TCP
# host:port, it listens within a second of starting (about 5 s until the first API call
# answers), the virtualenv is about 450 MB, and it implements every call milvusstore makes
# (collections, HNSW index, load, upsert, delete, filtered search, count(*) queries): the
# whole recommendtest suite passes against it through the Go client. It lacks the RBAC,
# credential, resource-group, replica and import calls; docs/ARCHITECTURE.md lists them. The
# older PyPI package `milvus` (an embedded Milvus 2.3 standalone) was therefore not needed.
#
# Everything lives under the repository root this script belongs to, so any clone works: the
# virtualenv and pip's download cache in .cache/, the data, pid file and log in .run/milvus.
# Point the tests at it with:
#
#   export TANGERINE_MILVUS_ADDR=127.0.0.1:19530
#
# MILVUS_ADDR (host:port, default 127.0.0.1:19530) moves the listen address,
# MILVUS_START_TIMEOUT (seconds, default 60) bounds the wait, and PYTHON picks the interpreter
# (any Python >= 3.10; default: the newest python3.1x found).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NAME="Milvus"
# shellcheck source=lib/pidfile.sh
source "$ROOT/scripts/lib/pidfile.sh"
MILVUS_LITE_VERSION="3.2.2"
PYMILVUS_VERSION="3.0.2" # milvus-lite imports its gRPC stubs from pymilvus
VENV="$ROOT/.cache/milvus-venv"
STAMP="$VENV/.tangerine-installed"
RUN_DIR="$ROOT/.run/milvus"
DATA_DIR="$RUN_DIR/data"
PID_FILE="$RUN_DIR/milvus.pid"
LOG_FILE="$RUN_DIR/milvus.log"

ADDR="${MILVUS_ADDR:-127.0.0.1:19530}"
HOST="${ADDR%:*}"
PORT="${ADDR##*:}"
START_TIMEOUT="${MILVUS_START_TIMEOUT:-60}"

log() { printf 'milvus.sh: %s\n' "$*" >&2; }

die() {
	log "$*"
	if [[ -f "$LOG_FILE" ]]; then
		log "last lines of $LOG_FILE:"
		tail -n 40 "$LOG_FILE" >&2 || true
	fi
	exit 1
}

pick_python() {
	if [[ -n "${PYTHON:-}" ]]; then
		echo "$PYTHON"
		return
	fi
	local py
	for py in python3.13 python3.12 python3.11 python3.10 python3; do
		if command -v "$py" >/dev/null 2>&1 &&
			"$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' 2>/dev/null; then
			echo "$py"
			return
		fi
	done
	die "no Python >= 3.10 found (milvus-lite needs it); set PYTHON"
}

install() {
	local want="milvus-lite==$MILVUS_LITE_VERSION pymilvus==$PYMILVUS_VERSION"
	if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" && -x "$VENV/bin/python" ]]; then
		return
	fi
	local py
	py="$(pick_python)"
	log "installing $want into $VENV (first run only, 1-2 minutes)"
	local started=$SECONDS
	rm -rf "$VENV"
	mkdir -p "$ROOT/.cache"
	"$py" -m venv "$VENV" || die "could not create a virtualenv with $py (Debian: apt-get install python3-venv)"
	# pip's cache stays inside the repository's .cache like every other download.
	PIP_CACHE_DIR="$ROOT/.cache/pip" "$VENV/bin/pip" install --disable-pip-version-check -q \
		"milvus-lite==$MILVUS_LITE_VERSION" "pymilvus==$PYMILVUS_VERSION" ||
		die "pip install of $want failed"
	echo "$want" >"$STAMP"
	log "installed in $((SECONDS - started))s"
}

port_open() {
	(exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null
}

# answering makes a real API call (Connect, then ListCollections) through pymilvus, the same
# gRPC service the Go client uses, so "up" means usable and not merely listening.
answering() {
	port_open || return 1
	[[ -x "$VENV/bin/python" ]] || return 1
	timeout 20 "$VENV/bin/python" - "$ADDR" >/dev/null 2>&1 <<'EOF'
import sys
from pymilvus import MilvusClient
client = MilvusClient(uri="http://" + sys.argv[1], timeout=5)
client.list_collections()
client.close()
EOF
}

# The launcher turns SIGTERM into the KeyboardInterrupt that milvus-lite's server loop handles
# by draining requests and closing its data directory cleanly (WAL flushed, lock released).
LAUNCHER='
import signal, sys
from milvus_lite.cmdline import main
def _stop(signum, frame):
    raise KeyboardInterrupt
signal.signal(signal.SIGTERM, _stop)
signal.signal(signal.SIGINT, _stop)
sys.exit(main(["server"] + sys.argv[1:]))
'

start() {
	if pid_alive; then
		answering || die "Milvus (pid $(cat "$PID_FILE")) is running but not answering on $ADDR"
		log "already running on $ADDR (pid $(cat "$PID_FILE"))"
		return
	fi
	if port_open; then
		die "something else already listens on $ADDR; stop it or set MILVUS_ADDR"
	fi

	install
	mkdir -p "$DATA_DIR"
	rm -f "$PID_FILE"

	log "starting Milvus Lite $MILVUS_LITE_VERSION on $ADDR (data: $DATA_DIR, log: $LOG_FILE)"
	local started=$SECONDS
	# setsid gives the server its own session, so it outlives this shell and a terminal's
	# hang-up; -u keeps the log unbuffered for the tail printed on failure.
	setsid "$VENV/bin/python" -u -c "$LAUNCHER" \
		--data-dir "$DATA_DIR" --host "$HOST" --port "$PORT" \
		>>"$LOG_FILE" 2>&1 </dev/null &
	echo $! >"$PID_FILE"

	await_answering "$started"
}

stop() { stop_pidfile; }

status() { status_pidfile; }

case "${1:-}" in
start) start ;;
stop) stop ;;
status) status ;;
*)
	echo "usage: $0 start|stop|status" >&2
	exit 2
	;;
esac
