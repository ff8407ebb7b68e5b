package chat

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"

	validation "github.com/pocketbase/ozzo-validation/v4"

	"github.com/pocketbase/pocketbase/core"
)

// maxCommitBatch bounds the messages one transaction stores.
const maxCommitBatch = 128

// groupCommit stores the messages of WebSocket sends in batches: the sends that arrive while a
// transaction commits wait, and the next transaction stores all of them, so that under load a
// process pays for one write lock, one commit and one WAL write per batch instead of per
// message. A lone send is stored on its own at once, so nothing waits for a batch to fill.
//
// There is no goroutine of its own: the first sender to find no batch running leads (stores
// the waiting batch) and then hands the lead to the oldest send still waiting, whose own
// message is then first in the next batch. Every message is still saved with app.Save, so
// the record hooks run as for any other create (created order, the room's last message, the
// publish, PocketBase's realtime), and an ack still means committed.
type groupCommit struct {
	mu      sync.Mutex
	pending []*commitReq
	leading bool // a sender is storing a batch; pending is never non-empty without one

	maxBatch atomic.Int64 // the largest batch stored so far (tests)
}

type commitReq struct {
	rec  *core.Record
	err  error
	wake chan bool // true: lead the next batch; false: stored (err says how)
}

// save stores rec, in a batch with the other sends waiting.
func (g *groupCommit) save(p *plugin, rec *core.Record) error {
	r := &commitReq{rec: rec, wake: make(chan bool, 1)}
	g.mu.Lock()
	g.pending = append(g.pending, r)
	if g.leading {
		g.mu.Unlock()
		if lead := <-r.wake; !lead {
			return r.err
		}
	} else {
		g.leading = true
		g.mu.Unlock()
	}

	// leading: r is the first pending request
	g.mu.Lock()
	n := min(len(g.pending), maxCommitBatch)
	batch := g.pending[:n:n]
	g.pending = slices.Clone(g.pending[n:])
	g.mu.Unlock()

	p.storeBatch(batch)
	for _, b := range batch[1:] {
		b.wake <- false
	}

	g.mu.Lock()
	if len(g.pending) > 0 {
		next := g.pending[0]
		g.mu.Unlock()
		next.wake <- true
	} else {
		g.leading = false
		g.mu.Unlock()
	}
	return r.err
}

// storeBatch saves the batch's messages in one transaction and sets each request's error.
//
// The transaction holds the batch's room locks (taken in sorted order, before the database's
// write lock, as onMessageCreate takes its one room lock before its transaction), so that the
// publish order of each room stays its insert order also against concurrent creates through
// the records API. A message that fails validation (a resent client_id, which its unique
// index refuses) fails alone: its statement is rolled back and the others are committed. Any
// other error fails the batch, and each sender gets an error instead of an ack.
func (p *plugin) storeBatch(batch []*commitReq) {
	if len(batch) == 1 {
		batch[0].err = p.app.Save(batch[0].rec)
		return
	}
	rooms := make([]string, 0, len(batch))
	for _, b := range batch {
		rooms = append(rooms, b.rec.GetString("room"))
	}
	slices.Sort(rooms)
	rooms = slices.Compact(rooms)
	for _, room := range rooms {
		p.roomLocks.lock(room)
	}
	defer func() {
		for _, room := range rooms {
			p.roomLocks.unlock(room)
		}
	}()

	if n := int64(len(batch)); n > p.commits.maxBatch.Load() {
		p.commits.maxBatch.Store(n) // only the leader writes it
	}
	err := p.app.RunInTransaction(func(txApp core.App) error {
		for _, b := range batch {
			b.err = txApp.Save(b.rec)
			var invalid validation.Errors
			if b.err != nil && !errors.As(b.err, &invalid) {
				// not the message's own fault (busy, I/O, ...): SQLite may have rolled
				// the transaction back already, so stop and fail the whole batch
				return b.err
			}
		}
		return nil
	})
	if err != nil { // nothing was stored
		for _, b := range batch {
			if b.err == nil {
				b.err = err
			}
		}
	}
}
