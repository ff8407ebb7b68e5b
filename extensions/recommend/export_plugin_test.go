package recommend

// HoldIndexer blocks queue processing (the worker, Sync, Reindex) until release is called, so
// that tests can observe routes before the index catches up with a change.
func HoldIndexer(p *Plugin) (release func()) {
	p.procMu.Lock()
	return p.procMu.Unlock
}

// MatchQuery exposes matchQuery to tests.
func MatchQuery(q string, and bool) (string, bool) {
	return matchQuery(q, and)
}
