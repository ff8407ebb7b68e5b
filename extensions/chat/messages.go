package chat

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/pocketbase/dbx"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/security"
	"github.com/pocketbase/pocketbase/tools/types"

	"github.com/tangerine-market/tangerine/collections"
	"github.com/tangerine-market/tangerine/internal/sqlitedb"
)

// errNotMember is returned when the user is not a member of the room (or it does not exist).
var errNotMember = errors.New("chat: not a member of the room")

// bindMessageHooks keeps the per-room order of messages and publishes every created message,
// whichever way it was created (WebSocket send, records API, dashboard).
//
// Order: a message create takes the room's lock in OnRecordCreate and releases it in
// OnRecordAfterCreateSuccess (after queueing the publish, see publisher) or
// OnRecordAfterCreateError, so that within a process the insert order, the created order and the publish order of a room are one order.
// The lock is skipped when the create runs inside a caller's transaction (the batch API): that
// transaction holds the database's single write connection already, and waiting for a room
// lock there could deadlock against a sender that holds the lock and waits for the
// connection. Those creates are still ordered in the database, only their publish may
// interleave with concurrent sends of the room.
func bindMessageHooks(p *plugin) {
	p.app.OnRecordCreate(collections.ChatMessages).BindFunc(p.onMessageCreate)
	p.app.OnRecordAfterCreateSuccess(collections.ChatMessages).BindFunc(func(e *core.RecordEvent) error {
		defer p.releaseRoom(e.Record)
		var raw []byte
		if v, ok := p.sending.Load(e.Record); ok {
			// a WebSocket send: a fresh record of ours, which the encoder writes directly
			// (and the ack reuses)
			req := v.(*commitReq)
			req.raw = appendMessage(nil, e.Record)
			raw = req.raw
		} else {
			var err error
			if raw, err = json.Marshal(e.Record); err != nil {
				p.app.Logger().Error("Failed to encode a chat message", "error", err, "message", e.Record.Id)
				return e.Next()
			}
		}
		p.publish(event{Kind: eventMessage, Room: e.Record.GetString("room"), Record: raw})
		return e.Next()
	})
	p.app.OnRecordAfterCreateError(collections.ChatMessages).BindFunc(func(e *core.RecordErrorEvent) error {
		p.releaseRoom(e.Record)
		return e.Next()
	})
	p.app.OnRecordAfterDeleteSuccess(collections.ChatMessages).BindFunc(func(e *core.RecordEvent) error {
		p.publish(event{Kind: eventMessageRemoved, Room: e.Record.GetString("room"), Message: e.Record.Id})
		return e.Next()
	})
}

// onMessageCreate gives the message a created time strictly after the room's previous message
// (so that (created, id) order is insert order even within one millisecond) and moves the
// room's last_message_at/last_message_text, in the transaction of the insert.
func (p *plugin) onMessageCreate(e *core.RecordEvent) error {
	room := e.Record.GetString("room")
	if !e.App.IsTransactional() {
		p.roomLocks.lock(room)
		p.held.Store(e.Record, room)
	}
	original := e.App
	defer func() { e.App = original }()

	return e.App.RunInTransaction(func(txApp core.App) error {
		e.App = txApp
		// note: plain SQL (sqlitedb.Raw), as it runs for every message; the room id is bound
		// as an expression so that SQLite does not re-plan the statement for every new room
		db, err := sqlitedb.Raw(txApp.DB())
		if err != nil {
			return err
		}
		var last sql.NullString
		if err := db.QueryRowContext(context.Background(),
			`SELECT max(created) FROM `+collections.ChatMessages+` WHERE room = (? || '')`, room).Scan(&last); err != nil {
			return err
		}
		// note: truncated first, because the database keeps milliseconds
		created, _ := types.ParseDateTime(time.Now().UTC().Truncate(time.Millisecond))
		if prev, err := types.ParseDateTime(last.String); err == nil && !prev.IsZero() && !created.After(prev) {
			created = prev.Add(time.Millisecond)
		}
		e.Record.SetRaw("created", created)

		if err := e.Next(); err != nil {
			return err
		}

		_, err = db.ExecContext(context.Background(),
			`UPDATE `+collections.ChatRooms+` SET last_message_at = ?, last_message_text = ? WHERE id = (? || '')`,
			created.String(), preview(e.Record.GetString("text")), room)
		return err
	})
}

// releaseRoom frees the room lock taken by onMessageCreate for record, if it took one.
func (p *plugin) releaseRoom(record *core.Record) {
	if room, ok := p.held.LoadAndDelete(record); ok {
		p.roomLocks.unlock(room.(string))
	}
}

// sendMessage stores a message from sender in room and returns its JSON; the hooks
// publish it. With a clientId that the sender already used in that room it returns the
// original message and stores nothing: the unique index on (room, sender, client_id) refuses
// the insert, and the original is looked up then (resends are rare; a lookup before every
// insert is not). The membership check is part of the insert's transaction (storeBatch).
func (p *plugin) sendMessage(room, sender, text, clientId string) ([]byte, error) {
	c, err := p.app.FindCachedCollectionByNameOrId(collections.ChatMessages)
	if err != nil {
		return nil, err
	}
	m := core.NewRecord(c)
	m.Set(core.FieldNameId, p.messageId(c))
	m.Set("room", room)
	m.Set("sender", sender)
	m.Set("text", text)
	m.Set("client_id", clientId)
	// the fields' own rules, as the dashboard sets them (the records API runs them too), but
	// for the relations, whose records canSend vouches for in the transaction, and the id,
	// which messageId made
	for _, f := range c.Fields {
		if _, rel := f.(*core.RelationField); rel || f.GetName() == core.FieldNameId {
			continue
		}
		if err := f.ValidateValue(context.Background(), p.app, m); err != nil {
			return nil, invalidFieldsError{validation.Errors{f.GetName(): err}}
		}
	}
	req := &commitReq{rec: m, sender: sender}
	p.sending.Store(m, req)
	err = p.commits.save(req)
	p.sending.Delete(m)
	if err != nil {
		if clientId != "" && !errors.Is(err, errNotMember) && !errors.Is(err, errNotChatUser) {
			if orig := findByClientId(p.app, room, sender, clientId); orig != nil {
				return json.Marshal(orig)
			}
		}
		return nil, err
	}
	if req.raw == nil { // the publish hook did not run: a hook bound before it ended the chain
		req.raw = appendMessage(nil, m)
	}
	return req.raw, nil
}

// invalidFieldsError is a send refused by a field's rules or a unique index other than the
// client_id one: the client's fault, answered with bad_request.
type invalidFieldsError struct{ errs validation.Errors }

func (e invalidFieldsError) Error() string { return e.errs.Error() }

// idAlphabet is what the id fields of PocketBase's collections take by default, in the order
// of their bytes (so that base-36 numbers written with it sort as text as they do as numbers).
const idAlphabet = "0123456789abcdefghijklmnopqrstuvwxyz"

// timeOrderedId returns a 15-character id of [a-z0-9]: the Unix time in milliseconds as 9
// base-36 digits (enough until the year 5188), then 6 random ones.
//
// PocketBase's own ids are 15 random characters. For chat_messages, the table that takes
// thousands of inserts a second, random ids spread the inserts over the whole primary-key
// index, whose pages then stop fitting the page cache as the table grows: measured, the p99
// of deliveries at 2,000 msg/s rose from 12 ms to 50 ms over three minutes (380,000 messages),
// and stayed at ~20 ms with these ids, whose inserts land at the end of the index. Two ids of
// the same millisecond collide with a chance of one in 2·10⁹; the insert of a taken id is
// retried with a new one (storeBatch).
func timeOrderedId(now time.Time) string {
	var b [15]byte
	ms := uint64(max(now.UnixMilli(), 0))
	for i := 8; i >= 0; i-- {
		b[i] = idAlphabet[ms%36]
		ms /= 36
	}
	copy(b[9:], security.RandomStringWithAlphabet(6, idAlphabet))
	return string(b[:])
}

// messageId returns the id of a new message of coll: p.newId's, if coll's id field takes
// such ids (PocketBase's default id field), else "" (PocketBase generates one).
func (p *plugin) messageId(coll *core.Collection) string {
	f, ok := coll.Fields.GetByName(core.FieldNameId).(*core.TextField)
	if !ok || f.Min > 15 || (f.Max != 0 && f.Max < 15) || (f.Pattern != "" && f.Pattern != "^[a-z0-9]+$") {
		return ""
	}
	return p.newId(time.Now())
}

func findByClientId(app core.App, room, sender, clientId string) *core.Record {
	// note: the client_id test repeats the condition of the partial unique index
	// idx_chat_messages_client_id, without which SQLite cannot use that index for a bound
	// client_id and reads every message of the room instead
	var id string
	err := app.DB().Select("id").From(collections.ChatMessages).
		Where(dbx.HashExp{"room": room, "sender": sender, "client_id": clientId}).
		AndWhere(dbx.NewExp("[[client_id]] != ''")).
		Limit(1).Row(&id)
	if err != nil || id == "" {
		return nil
	}
	r, err := app.FindRecordById(collections.ChatMessages, id)
	if err != nil {
		return nil
	}
	return r
}

// isMember reports whether user is a member of room.
func isMember(app core.App, room, user string) (bool, error) {
	var n int
	// note: a fixed query text (no query builder), which the connection's statement cache keeps
	err := app.DB().NewQuery("SELECT count(*) FROM {{" + collections.ChatMembers + "}} WHERE [[room]] = {:room} AND [[user]] = {:user}").
		Bind(dbx.Params{"room": room, "user": user}).Row(&n)
	return n > 0, err
}

// -------------------------------------------------------------------
// routes

// messagesList lists a room's messages, newest first, older pages through ?before=.
func (p *plugin) messagesList(e *core.RequestEvent) error {
	room, err := p.memberRoom(e)
	if err != nil {
		return err
	}
	pg, err := parsePage(e, "before")
	if err != nil {
		return err
	}
	q := e.App.RecordQuery(collections.ChatMessages).AndWhere(dbx.HashExp{"room": room.Id})
	if pg.after != nil {
		q = q.AndWhere(dbx.NewExp("([[created]] < {:c} OR ([[created]] = {:c} AND [[id]] < {:id}))",
			dbx.Params{"c": pg.after.Key, "id": pg.after.Id}))
	}
	records := []*core.Record{}
	if err := q.OrderBy("created DESC", "id DESC").Limit(int64(pg.limit) + 1).All(&records); err != nil {
		return e.InternalServerError("Failed to load the messages.", err)
	}
	var next *string
	if len(records) > pg.limit {
		records = records[:pg.limit]
		last := records[len(records)-1]
		s := cursor{Key: last.GetDateTime("created").String(), Id: last.Id}.encode()
		next = &s
	}
	return e.JSON(http.StatusOK, listResponse{Items: records, NextCursor: next})
}

// readForm is the body of POST /api/chat/rooms/{id}/read.
type readForm struct {
	Message string `json:"message"`
}

// readCreate moves the auth user's read cursor forward to a message of the room.
func (p *plugin) readCreate(e *core.RequestEvent) error {
	room, err := p.memberRoom(e)
	if err != nil {
		return err
	}
	var form readForm
	if err := e.BindBody(&form); err != nil {
		return e.BadRequestError("Failed to read the request body.", err)
	}
	switch err := p.markRead(room.Id, e.Auth.Id, form.Message); {
	case errors.Is(err, errUnknownMessage):
		return e.BadRequestError("Invalid read cursor.", validation.Errors{
			"message": validation.NewError("validation_unknown_message", "Must be the id of a message of this room."),
		})
	case err != nil:
		return e.InternalServerError("Failed to move the read cursor.", err)
	}
	return e.NoContent(http.StatusNoContent)
}

var errUnknownMessage = errors.New("chat: no such message in the room")

// markRead moves user's last_read_at in room up to the message's created time (never back)
// and tells the other members. The caller has checked membership.
func (p *plugin) markRead(room, user, message string) error {
	if message == "" {
		return errUnknownMessage
	}
	m, err := p.app.FindRecordById(collections.ChatMessages, message)
	if err != nil || m.GetString("room") != room {
		return errUnknownMessage
	}
	at := m.GetDateTime("created").String()
	_, err = p.app.DB().NewQuery(`UPDATE {{chat_members}} SET [[last_read_at]] = {:at}
		WHERE [[room]] = {:room} AND [[user]] = {:user} AND ([[last_read_at]] = '' OR [[last_read_at]] IS NULL OR [[last_read_at]] < {:at})`).
		Bind(dbx.Params{"at": at, "room": room, "user": user}).Execute()
	if err != nil {
		return err
	}
	p.publish(event{Kind: eventRead, Room: room, User: user, Message: message})
	return nil
}
