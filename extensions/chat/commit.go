package chat

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"

	"github.com/tangerine-market/tangerine/collections"
	"github.com/tangerine-market/tangerine/internal/sqlitedb"
)

// maxCommitBatch bounds the messages one transaction stores.
const maxCommitBatch = 128

// groupCommit stores the messages of WebSocket sends in batches: the sends that arrive while a
// transaction commits wait, and the next transaction stores all of them, so that under load a
// process pays for one write lock, one commit and one WAL write per batch instead of per
// message.
//
// A lone send is stored on its own at once. Only when the last batch held more than one
// message (sends are arriving faster than transactions commit) does the next batch wait up to
// window for more sends before it is stored: at 2,000 sends/s a 1 ms window makes batches of
// about 8 instead of 2, which takes a tenth off the server's CPU per message (fewer commits,
// WAL frames and checkpoint work) for at most 1 ms more before the ack.
//
// There is no goroutine of its own: the first sender to find no batch running leads (stores
// the waiting batch) and then hands the lead to the oldest send still waiting, whose own
// message is then first in the next batch. Every message is still saved with app.Save's
// create path, so the record hooks run as for any other create (created order, the room's
// last message, the publish, PocketBase's realtime), and an ack still means committed.
type groupCommit struct {
	store  func(batch []*commitReq) // stores a batch, setting each request's err
	window time.Duration            // how long a batch waits for more sends under load

	mu      sync.Mutex
	pending []*commitReq
	leading bool // a sender is storing a batch; pending is never non-empty without one

	last     atomic.Int64 // the size of the last batch
	maxBatch atomic.Int64 // the largest batch stored so far (tests)
}

type commitReq struct {
	rec    *core.Record
	sender string
	err    error     // errNotChatUser, errNotMember, errDuplicate, invalidFieldsError, or why the batch failed
	raw    []byte    // the stored message's JSON (set by the publish hook)
	wake   chan bool // true: lead the next batch; false: stored (err says how)
}

// save stores r.rec, in a batch with the other sends waiting, and returns r.err.
func (g *groupCommit) save(r *commitReq) error {
	r.wake = make(chan bool, 1)
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
	if g.window > 0 && g.last.Load() > 1 {
		time.Sleep(g.window)
	}
	g.mu.Lock()
	n := min(len(g.pending), maxCommitBatch)
	batch := g.pending[:n:n]
	g.pending = slices.Clone(g.pending[n:])
	g.mu.Unlock()

	g.last.Store(int64(n))
	if int64(n) > g.maxBatch.Load() {
		g.maxBatch.Store(int64(n)) // only the leader writes it
	}
	g.store(batch)
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

// errDuplicate is a send's error when the sender already used its client_id in the room.
var errDuplicate = errors.New("chat: client_id already used in the room")

// storeBatch saves the batch's messages in one transaction and sets each request's error.
//
// The transaction holds the batch's room locks (taken in sorted order, before the database's
// write lock, as onMessageCreate takes its one room lock before its transaction), so that the
// publish order of each room stays its insert order also against concurrent creates through
// the records API.
//
// What the records API's create rule and validation check is checked here, in the
// transaction, so that it holds at the commit: the sender is an active user and a member of
// the room (which implies that both relations point at existing records); sendMessage checked
// the other fields, each with its own rules. The message is then saved without
// PocketBase's validation, which would look both relations up once more (and so no
// OnRecordValidate hook runs for it: none is bound to chat_messages); the (room, sender,
// client_id) unique index still refuses a resent client_id. A message that fails any of these
// ways fails alone (errNotChatUser, errNotMember, errDuplicate, invalidFieldsError): the
// others are committed. Any other error fails the batch, and each sender gets an error
// instead of an ack.
func (p *plugin) storeBatch(batch []*commitReq) {
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

	err := p.app.RunInTransaction(func(txApp core.App) error {
		for _, b := range batch {
			if err := canSend(txApp, b.rec.GetString("room"), b.sender); err != nil {
				if errors.Is(err, errNotMember) || errors.Is(err, errNotChatUser) {
					b.err = err
					continue
				}
				return err
			}
			for attempt := 1; ; attempt++ {
				err := txApp.SaveNoValidate(b.rec)
				if err == nil {
					break
				}
				// PocketBase reports a unique index that refused the insert as a
				// validation error of the index's columns
				var invalid validation.Errors
				if !errors.As(err, &invalid) {
					// not the message's own fault (busy, I/O, ...): SQLite may have rolled
					// the transaction back already, so stop and fail the whole batch
					b.err = err
					return err
				}
				// only the failed statement was rolled back; the transaction goes on
				if _, taken := invalid[core.FieldNameId]; taken && attempt < 3 {
					b.rec.Set(core.FieldNameId, p.messageId(b.rec.Collection()))
					continue // an id that another message has: take another
				}
				if _, resent := invalid["client_id"]; resent {
					b.err = errDuplicate
				} else {
					b.err = invalidFieldsError{invalid} // a unique index added in the dashboard
				}
				break
			}
		}
		return nil
	})
	if err == nil {
		return
	}
	// RunInTransaction also fails when a hook that runs after the commit (OnRecordAfter*)
	// does: then the messages are stored and published, and their acks must go out
	for _, b := range batch {
		if b.err == nil {
			if p.isStored(b.rec.Id) {
				p.app.Logger().Error("A hook failed after chat messages were stored", "error", err)
				return
			}
			break
		}
	}
	for _, b := range batch { // nothing was stored
		if b.err == nil || errors.Is(b.err, errDuplicate) {
			b.err = err
		}
	}
}

// isStored reports whether the message id is in the database.
func (p *plugin) isStored(id string) bool {
	db, err := sqlitedb.Raw(p.app.ConcurrentDB())
	if err != nil {
		return false
	}
	var n int
	err = db.QueryRowContext(context.Background(), `SELECT count(*) FROM `+collections.ChatMessages+` WHERE id = ?`, id).Scan(&n)
	return err == nil && n > 0
}

// canSend checks that user may send to room, the create rule of chat_messages: an active user
// (else errNotChatUser) and a member of the room (else errNotMember).
func canSend(app core.App, room, user string) error {
	db, err := sqlitedb.Raw(app.DB())
	if err != nil {
		return err
	}
	var status string
	var member bool
	// note: the ids are bound as expressions so that SQLite does not re-plan the statement
	// for every new value (the connection's statement cache keeps it)
	err = db.QueryRowContext(context.Background(), `SELECT status, EXISTS (SELECT 1 FROM `+collections.ChatMembers+` WHERE room = (? || '') AND user = u.id) `+
		`FROM `+collections.Users+` u WHERE id = (? || '')`, room, user).Scan(&status, &member)
	switch {
	case errors.Is(err, sql.ErrNoRows) || (err == nil && status != collections.UserActive):
		return errNotChatUser
	case err != nil:
		return err
	case !member:
		return errNotMember
	}
	return nil
}
