#!/usr/bin/env bash
# scripts/pulsar.sh start|stop|status|restart
#
# Runs a real Apache Pulsar standalone broker (broker + one embedded BookKeeper bookie, RocksDB
# metadata store) on 127.0.0.1 for the integration tests and for local use with
# TANGERINE_BROKER=pulsar. There is no Docker engine on these machines, so the broker's jars come
# from Maven Central (scripts/pulsar/pom.xml) and run on the machine's Java 17.
#
#   start   fetches the jars once (cached in .cache/pulsar/lib), writes the config under
#           .run/pulsar/conf, starts the broker in the background and waits until it answers
#           its health check; does nothing if it already runs
#   stop    stops it (SIGTERM, then SIGKILL after PULSAR_STOP_TIMEOUT seconds) and waits for exit
#   status  exits 0 when the broker runs and is healthy, 1 otherwise
#
# Everything listens on 127.0.0.1 only: the broker (PULSAR_BROKER_PORT), its admin REST API
# (PULSAR_WEB_PORT) and the bookie (PULSAR_BOOKIE_PORT). Data (topics, cursors, metadata) lives
# in .run/pulsar/data and survives stop/start; delete that directory, or run with PULSAR_WIPE=1,
# to start empty. NB! The bookie keeps the port it was first started with (its cookie in the
# data directory names it), so a new PULSAR_BOOKIE_PORT needs PULSAR_WIPE=1.
#
# Environment (all optional):
#   PULSAR_BROKER_PORT (6650), PULSAR_WEB_PORT (18080), PULSAR_BOOKIE_PORT (3181),
#   PULSAR_HEAP (512m), PULSAR_DIRECT (256m), PULSAR_START_TIMEOUT (180 s),
#   PULSAR_STOP_TIMEOUT (60 s), PULSAR_WIPE (0), JAVA_HOME (else java on PATH; 17 or newer)
#
# Then: export TANGERINE_PULSAR_URL=pulsar://127.0.0.1:6650
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
POM="$ROOT/scripts/pulsar/pom.xml"
MVN_SETTINGS="$ROOT/scripts/pulsar/settings.xml"
CACHE="$ROOT/.cache/pulsar"
LIB="$CACHE/lib"
RUN="$ROOT/.run/pulsar"
CONF_DIR="$RUN/conf"
DATA="$RUN/data"
PIDFILE="$RUN/pulsar.pid"
LOG="$RUN/pulsar.log"

BROKER_PORT="${PULSAR_BROKER_PORT:-6650}"
WEB_PORT="${PULSAR_WEB_PORT:-18080}"
BOOKIE_PORT="${PULSAR_BOOKIE_PORT:-3181}"
HEAP="${PULSAR_HEAP:-512m}"
DIRECT="${PULSAR_DIRECT:-256m}"
START_TIMEOUT="${PULSAR_START_TIMEOUT:-180}"
STOP_TIMEOUT="${PULSAR_STOP_TIMEOUT:-60}"
HEALTH_URL="http://127.0.0.1:${WEB_PORT}/admin/v2/brokers/health"
MAIN_CLASS="org.apache.pulsar.PulsarStandaloneStarter"

log() { printf 'pulsar.sh: %s\n' "$*" >&2; }

die() {
	log "$*"
	exit 1
}

java_bin() {
	if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
		echo "$JAVA_HOME/bin/java"
	else
		command -v java || die "java not found: install a JDK 17 or newer (Debian: openjdk-17-jre-headless)"
	fi
}

# check_java fails unless the JVM is 17 or newer: Pulsar 4.0 needs 17.
check_java() {
	local version major
	version="$("$(java_bin)" -version 2>&1 | awk -F'"' '/version/ {print $2; exit}')"
	major="${version%%.*}"
	[[ "$major" =~ ^[0-9]+$ && "$major" -ge 17 ]] || die "Java 17 or newer needed, found '${version}'"
}

# fetch downloads the broker's jars once. The stamp file holds the pom's checksum, so editing
# the pom (a new Pulsar version) fetches again; a half-finished download is never used because
# the jars land in a temporary directory that is renamed only on success.
fetch() {
	local sum stamp="$LIB/.pom.sha256"
	sum="$(sha256sum "$POM" | cut -d' ' -f1)"
	if [[ -f "$stamp" && "$(cat "$stamp")" == "$sum" ]]; then
		return 0
	fi
	command -v mvn >/dev/null || die "mvn not found: install Maven 3 (Debian: maven)"
	log "fetching the Pulsar jars from Maven Central into ${LIB#"$ROOT"/} (once, ~240 MB)"
	mkdir -p "$CACHE"
	rm -rf "$LIB.tmp"
	if ! mvn -B -q -s "$MVN_SETTINGS" -f "$POM" \
		-Dmaven.repo.local="$CACHE/m2" \
		dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$LIB.tmp" \
		>"$CACHE/mvn.log" 2>&1; then
		tail -n 40 "$CACHE/mvn.log" >&2
		die "fetching the jars failed (full log: $CACHE/mvn.log)"
	fi
	echo "$sum" >"$LIB.tmp/.pom.sha256"
	rm -rf "$LIB"
	mv "$LIB.tmp" "$LIB"
}

# write_config writes the broker and bookie settings; PulsarStandalone hands the same file to
# both. Rewritten on every start so that edits here always apply.
write_config() {
	mkdir -p "$CONF_DIR" "$DATA"
	cat >"$CONF_DIR/standalone.conf" <<EOF
# Written by scripts/pulsar.sh on every start; edit the script, not this file.
clusterName=standalone
bindAddress=127.0.0.1
advertisedAddress=127.0.0.1
brokerServicePort=${BROKER_PORT}
webServicePort=${WEB_PORT}

# one bookie, so every ledger has one copy
managedLedgerDefaultEnsembleSize=1
managedLedgerDefaultWriteQuorum=1
managedLedgerDefaultAckQuorum=1

# what Tangerine needs and nothing more: no functions, transactions, websocket proxy or
# topic-level policies (their system topics slow the first start)
functionsWorkerEnabled=false
transactionCoordinatorEnabled=false
webSocketServiceEnabled=false
systemTopicEnabled=false
topicLevelPoliciesEnabled=false
authenticationEnabled=false
authorizationEnabled=false
allowAutoTopicCreation=true
allowAutoTopicCreationType=non-partitioned

# topics that nobody produces to or subscribes to any more (old test topics, rooms of processes
# that went away) are deleted after ten minutes, so a long-lived dev broker does not fill up
brokerDeleteInactiveTopicsEnabled=true
brokerDeleteInactiveTopicsMode=delete_when_no_subscriptions
brokerDeleteInactiveTopicsMaxInactiveDurationSeconds=600
brokerDeleteInactiveTopicsFrequencySeconds=60

# small: two cores are shared with everything else on these machines
numIOThreads=2
numOrderedExecutorThreads=2
numHttpServerThreads=4
numCacheExecutorThreadPoolSize=1
bookkeeperClientNumWorkerThreads=2
bookkeeperClientNumIoThreads=2
managedLedgerCacheSizeMB=32
managedLedgerNumSchedulerThreads=2
loadBalancerEnabled=false

# bookie: on 127.0.0.1 and the fixed port given by --bookkeeper-port (BKCluster picks a random
# port, on every interface, unless ephemeral ports are allowed and an interface is named)
listeningInterface=lo
allowLoopback=true
allowEphemeralPorts=true

# bookie: small caches and journal; journalSyncData=false skips the fsync per entry, which is
# fine for development and tests and makes publishes fast on a shared disk
ledgerStorageClass=org.apache.bookkeeper.bookie.storage.ldb.DbLedgerStorage
dbStorage_writeCacheMaxSizeMb=16
dbStorage_readAheadCacheMaxSizeMb=16
dbStorage_rocksDB_blockCacheSize=16777216
journalSyncData=false
journalPreAllocSizeMB=4
journalMaxSizeMB=256
journalWriteBufferSizeKB=64
numAddWorkerThreads=1
numReadWorkerThreads=2
numJournalCallbackThreads=1
diskUsageThreshold=0.99
diskUsageWarnThreshold=0.98
EOF
	cat >"$CONF_DIR/log4j2.properties" <<'EOF'
# Written by scripts/pulsar.sh; the broker's stdout goes to .run/pulsar/pulsar.log.
status = warn
appender.console.type = Console
appender.console.name = console
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{ISO8601} %-5p [%t] %c{1} - %m%n
rootLogger.level = info
rootLogger.appenderRef.console.ref = console
logger.zk.name = org.apache.zookeeper
logger.zk.level = warn
logger.bk.name = org.apache.bookkeeper
logger.bk.level = warn
EOF
}

pid_of() {
	[[ -f "$PIDFILE" ]] && cat "$PIDFILE" || true
}

# running is true when the pid file names a live PulsarStandaloneStarter (not a recycled pid).
running() {
	local pid
	pid="$(pid_of)"
	[[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null &&
		tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$MAIN_CLASS"
}

healthy() {
	[[ "$(curl -sf --max-time 5 "$HEALTH_URL" 2>/dev/null || true)" == "ok" ]]
}

port_busy() {
	ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
}

log_tail() {
	if [[ -f "$LOG" ]]; then
		log "last lines of $LOG:"
		tail -n 60 "$LOG" >&2
	fi
}

# warm: creates (idempotently) a topic in public/default through the admin API, which loads the
# namespace the app's topics live in; on a cold broker that takes longer than the health check
warm() {
	curl -s -o /dev/null --max-time 30 -X PUT "http://127.0.0.1:${WEB_PORT}/admin/v2/persistent/public/default/pulsar-sh-warmup" 2>/dev/null || true
	curl -sf -o /dev/null --max-time 30 "http://127.0.0.1:${WEB_PORT}/admin/v2/persistent/public/default/pulsar-sh-warmup/stats" 2>/dev/null
}

wait_ready() {
	local pid="$1" deadline=$((SECONDS + START_TIMEOUT))
	while ((SECONDS < deadline)); do
		if healthy && warm; then
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			log_tail
			rm -f "$PIDFILE"
			die "the broker exited during start"
		fi
		sleep 1
	done
	log_tail
	stop
	die "the broker was not healthy within ${START_TIMEOUT}s"
}

start() {
	if running; then
		if healthy; then
			log "already running (pid $(pid_of)) on pulsar://127.0.0.1:${BROKER_PORT}"
			return 0
		fi
		log "running (pid $(pid_of)) but not healthy yet; waiting"
		wait_ready "$(pid_of)"
		log "ready on pulsar://127.0.0.1:${BROKER_PORT}"
		return 0
	fi
	rm -f "$PIDFILE"
	check_java
	command -v curl >/dev/null || die "curl not found (Debian: curl)"
	local port
	for port in "$BROKER_PORT" "$WEB_PORT" "$BOOKIE_PORT"; do
		if port_busy "$port"; then
			die "port $port is already in use by another process"
		fi
	done
	fetch
	write_config
	if [[ "${PULSAR_WIPE:-0}" == "1" ]]; then
		rm -rf "$DATA"
	fi
	mkdir -p "$DATA"

	# The --add-opens flags are the ones Pulsar's own bin/pulsar passes on Java 17: Netty's direct
	# buffers and cleaner (java.nio, jdk.internal.misc), BookKeeper's fadvise and CRC32 digest
	# (java.io, java.util.zip), Netty's DNS resolver (sun.net), the load and resource usage reports
	# (sun.management, com.sun.management.internal, jdk.internal.platform).
	local -a jvm=(
		-Xms128m "-Xmx${HEAP}" "-XX:MaxDirectMemorySize=${DIRECT}"
		-XX:+UseG1GC -XX:MaxGCPauseMillis=50 -XX:+ExitOnOutOfMemoryError
		-XX:TieredStopAtLevel=1 -Xss512k
		--add-opens java.base/java.io=ALL-UNNAMED
		--add-opens java.base/java.util.zip=ALL-UNNAMED
		--add-opens java.base/java.nio=ALL-UNNAMED
		--add-opens java.base/jdk.internal.misc=ALL-UNNAMED
		--add-opens java.base/sun.net=ALL-UNNAMED
		--add-opens java.base/java.lang=ALL-UNNAMED
		--add-opens java.management/sun.management=ALL-UNNAMED
		--add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED
		--add-opens java.base/jdk.internal.platform=ALL-UNNAMED
		-Dio.netty.tryReflectionSetAccessible=true
		-Dpulsar.allocator.exit_on_oom=true
		-Dlog4j.configurationFile="$CONF_DIR/log4j2.properties"
		-Dlog4j2.formatMsgNoLookups=true
		-Djute.maxbuffer=10485760
		-Djava.net.preferIPv4Stack=true
		-cp "$LIB/*"
		"$MAIN_CLASS"
		--config "$CONF_DIR/standalone.conf"
		--no-functions-worker --no-stream-storage
		--advertised-address 127.0.0.1
		--bookkeeper-port "$BOOKIE_PORT"
		--metadata-dir "$DATA/metadata"
		--bookkeeper-dir "$DATA/bookkeeper"
		--zookeeper-dir "$DATA/zookeeper"
	)

	log "starting the broker (log: ${LOG#"$ROOT"/})"
	# setsid: the broker outlives this shell and its process group; cwd is the run directory
	# so any relative path the broker still uses lands there.
	(cd "$RUN" && exec setsid "$(java_bin)" "${jvm[@]}" >"$LOG" 2>&1 </dev/null) &
	local pid=$!
	echo "$pid" >"$PIDFILE"
	# setsid forks when its caller leads a process group; then the JVM has another pid, which
	# is found by this clone's own config path.
	sleep 0.5
	if ! running; then
		pid="$(pgrep -n -f -- "--config $CONF_DIR/standalone.conf" || echo "$pid")"
		echo "$pid" >"$PIDFILE"
	fi
	wait_ready "$pid"
	log "ready on pulsar://127.0.0.1:${BROKER_PORT} (pid $(pid_of), web http://127.0.0.1:${WEB_PORT})"
}

stop() {
	if ! running; then
		rm -f "$PIDFILE"
		log "not running"
		return 0
	fi
	local pid deadline
	pid="$(pid_of)"
	kill -TERM "$pid" 2>/dev/null || true
	deadline=$((SECONDS + STOP_TIMEOUT))
	while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
		sleep 0.5
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "still running after ${STOP_TIMEOUT}s; killing pid $pid"
		kill -KILL "$pid" 2>/dev/null || true
		while kill -0 "$pid" 2>/dev/null; do
			sleep 0.2
		done
	fi
	rm -f "$PIDFILE"
	log "stopped"
}

status() {
	if running && healthy; then
		log "running (pid $(pid_of)) on pulsar://127.0.0.1:${BROKER_PORT}"
		return 0
	fi
	if running; then
		log "process $(pid_of) runs but is not healthy"
	else
		log "not running"
	fi
	return 1
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status) status ;;
restart)
	stop
	start
	;;
*)
	echo "usage: $0 start|stop|status|restart" >&2
	exit 2
	;;
esac
