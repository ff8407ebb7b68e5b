#!/usr/bin/env bash
# The benchmark programs under bench/, at full scale (`make bench`; results go to
# docs/BENCHMARKS.md). `bash bench/run.sh` runs every section; `bash bench/run.sh feed` runs one.
# Each section is a function bench_<name>; add yours below and to SECTIONS.
set -euo pipefail
export GOTOOLCHAIN=go1.27.3
export GOFLAGS="${GOFLAGS:--buildvcs=false}"
cd "$(dirname "$0")/.."

SECTIONS=(feed recommend vectors chat images)

# feed: the home feed against the records API's back-relation filter. Seeds 100,000 users,
# 1,000,000 posts and ~15M follows into a temp pb_data (several minutes, ~4 GB of disk), then
# 32 clients for 30 s per target. Prints a markdown table for docs/BENCHMARKS.md.
bench_feed() {
	go run ./bench/feed -users 100000 -posts 1000000 -follows 150 -clients 32 -duration 30s
}

# recommend: GET /api/recommend/posts end to end against /api/feed/latest and the records API's
# newest posts list. Seeds 20,000 users, 100,000 posts (Korean and English, 20 topics), follows,
# likes and views into a temp pb_data, builds the vector index with `tangerine reindex` (a few
# minutes), then 32, 8 and 1 closed-loop clients for 30 s per route. Prints a markdown table.
bench_recommend() {
	go run ./bench/recommend -users 20000 -posts 100000 -clients 32,8,1 -duration 30s
}

# vectors: the embedded vector store at 100,000 and 1,000,000 vectors against exact search and
# Milvus (Milvus Lite from scripts/milvus.sh, started and stopped here).
bench_vectors() {
	bash scripts/milvus.sh start
	trap 'bash scripts/milvus.sh stop' RETURN
	go run ./bench/vectors -nprobe 0 -milvus 127.0.0.1:19530
}

# chat: 5,000 WebSocket clients in rooms of 10 at 2,000 msg/s for 60 s with the in-process broker,
# Pulsar (scripts/pulsar.sh, started and stopped here) and PocketBase's realtime SSE baseline,
# then a rate search for each (each WebSocket target warms up for 10 s first). About 12 minutes.
bench_chat() {
	bash scripts/pulsar.sh start
	trap 'bash scripts/pulsar.sh stop' RETURN
	go run ./bench/chat -clients 5000 -room-size 10 -rate 2000 -duration 60s -search \
		-steps 2000,2500,3000,3500,4000,5000 -step-duration 20s -settle 20s
}

# images: a 12 MP JPEG normalised plus PocketBase thumbs, against vipsthumbnail (apt: libvips-tools).
bench_images() {
	go run ./bench/images -n 9 -par-images 12
}

want=("$@")
[ ${#want[@]} -eq 0 ] && want=("${SECTIONS[@]}")
for s in "${want[@]}"; do
	echo "== bench: $s" >&2
	"bench_$s"
done
