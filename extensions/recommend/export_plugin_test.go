package recommend

import "context"

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

// TasteVector computes userId's taste vector afresh, reading the vectors of the signals from the
// store ([VectorReader]) or, with fromTable, from the _recommend_vectors table as for stores
// without it. Not for use while routes are served.
func TasteVector(p *Plugin, userId string, fromTable bool) ([]float32, error) {
	store := p.cfg.Store
	if fromTable {
		p.cfg.Store = struct{ VectorStore }{store} // hides ReadVectors
		defer func() { p.cfg.Store = store }()
	}
	p.tastes.clear()
	t, err := p.tasteOf(context.Background(), userId)
	if err != nil {
		return nil, err
	}
	return t.vec, nil
}
