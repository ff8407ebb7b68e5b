# Sourced by the service scripts that run a background server from a pid file (milvus.sh,
# embedder.sh). The caller defines log, die and answering, and sets PID_FILE, ADDR and
# START_TIMEOUT; NAME is how messages name the server.

# pid_alive reports whether the process in PID_FILE runs.
pid_alive() {
	[[ -f "$PID_FILE" ]] || return 1
	local pid
	pid="$(cat "$PID_FILE" 2>/dev/null || true)"
	[[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null
}

# await_answering waits until the server answers (bounded by START_TIMEOUT), or stops it and dies.
await_answering() {
	local started=$1 deadline=$((SECONDS + START_TIMEOUT))
	until answering; do
		pid_alive || die "$NAME exited during start-up"
		if ((SECONDS >= deadline)); then
			stop_pidfile >/dev/null 2>&1 || true
			die "$NAME did not answer on $ADDR within ${START_TIMEOUT}s"
		fi
		sleep 0.3
	done
	log "up on $ADDR (pid $(cat "$PID_FILE")) in $((SECONDS - started))s"
}

# stop_pidfile sends SIGTERM, waits up to 15 s for a graceful exit, then kills.
stop_pidfile() {
	if ! pid_alive; then
		rm -f "$PID_FILE"
		log "not running"
		return
	fi
	local pid
	pid="$(cat "$PID_FILE")"
	kill "$pid"
	for _ in $(seq 1 60); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.25
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "$NAME (pid $pid) ignored SIGTERM; killing it"
		kill -9 "$pid" 2>/dev/null || true
	fi
	rm -f "$PID_FILE"
	log "stopped (pid $pid)"
}

# status_pidfile exits 0 when the server runs and answers.
status_pidfile() {
	if pid_alive && answering; then
		log "up on $ADDR (pid $(cat "$PID_FILE"))"
		return 0
	fi
	log "down"
	return 1
}
