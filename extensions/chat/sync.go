package chat

import (
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"github.com/tangerine-market/tangerine/collections"
)

const (
	syncPageSize = 200
	syncWindow   = 7 * 24 * time.Hour
)

// runSync answers a sync frame: every message of the user's rooms inserted after the message
// since (or from the last 7 days when since is empty or unknown), in insert order, then
// synced. It pages through the database and waits for queue space instead of overflowing it,
// so a long catch-up never makes its own connection a slow consumer.
//
// The position is SQLite's rowid, which grows with every insert: unlike created, it orders
// messages of different rooms exactly as they were committed, so "after that message" misses
// none. (VACUUM may renumber rowids but keeps their order, and since is looked up afresh.)
func (c *conn) runSync(since string) {
	defer c.syncing.Store(false)
	app := c.p.app
	below := max(1, c.q.max/2)

	after, err := syncStart(app, c.user, since)
	for err == nil {
		var page []*core.Record
		var last int64
		var more bool
		page, last, more, err = syncPage(app, c.user, after)
		for _, m := range page {
			raw, jerr := json.Marshal(m)
			if jerr != nil {
				err = jerr
				break
			}
			if werr := c.q.pushWait(c.ctx, outItem{room: m.GetString("room"), data: messageFrame(raw)}, below); werr != nil {
				return // closing
			}
		}
		if err != nil || !more {
			break
		}
		after = last
	}
	if err != nil {
		app.Logger().Error("Failed to sync chat messages", "error", err, "user", c.user)
		_ = c.q.pushWait(c.ctx, outItem{data: errorFrame(codeInternal, "Failed to sync.", "sync")}, c.q.max)
		return
	}
	_ = c.q.pushWait(c.ctx, outItem{data: syncedFrame}, c.q.max)
}

// syncStart returns the rowid after which a sync starts: that of the message since, or, when
// since is empty or unknown, the one before the first message of the user's rooms created in
// the last 7 days.
func syncStart(app core.App, user, since string) (int64, error) {
	if since != "" {
		var rowid int64
		err := app.DB().NewQuery("SELECT rowid FROM {{chat_messages}} WHERE [[id]] = {:id}").
			Bind(dbx.Params{"id": since}).Row(&rowid)
		if err == nil {
			return rowid, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return 0, err
		}
	}
	var first sql.NullInt64
	err := app.DB().NewQuery(`SELECT min(rowid) FROM {{chat_messages}}
		WHERE [[created]] >= {:cutoff} AND [[room]] IN (SELECT [[room]] FROM {{chat_members}} WHERE [[user]] = {:user})`).
		Bind(dbx.Params{"cutoff": time.Now().UTC().Add(-syncWindow).Format("2006-01-02 15:04:05.000Z"), "user": user}).
		Row(&first)
	if err != nil {
		return 0, err
	}
	if !first.Valid {
		// nothing to send: start after the newest message
		var newest sql.NullInt64
		err := app.DB().NewQuery("SELECT max(rowid) FROM {{chat_messages}}").Row(&newest)
		return newest.Int64, err
	}
	return first.Int64 - 1, nil
}

// syncPage returns up to syncPageSize messages of the user's rooms after rowid, in rowid
// order, the rowid of the last one and whether there may be more.
func syncPage(app core.App, user string, after int64) ([]*core.Record, int64, bool, error) {
	var rows []struct {
		Seq int64  `db:"seq"`
		Id  string `db:"id"`
	}
	err := app.DB().NewQuery(`SELECT rowid AS [[seq]], [[id]] FROM {{chat_messages}}
		WHERE rowid > {:after} AND [[room]] IN (SELECT [[room]] FROM {{chat_members}} WHERE [[user]] = {:user})
		ORDER BY rowid LIMIT {:limit}`).
		Bind(dbx.Params{"after": after, "user": user, "limit": syncPageSize}).All(&rows)
	if err != nil || len(rows) == 0 {
		return nil, after, false, err
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.Id
	}
	records, err := app.FindRecordsByIds(collections.ChatMessages, ids)
	if err != nil {
		return nil, after, false, err
	}
	byId := make(map[string]*core.Record, len(records))
	for _, r := range records {
		byId[r.Id] = r
	}
	page := make([]*core.Record, 0, len(rows))
	for _, r := range rows {
		// a message deleted between the two queries is skipped
		if m := byId[r.Id]; m != nil {
			page = append(page, m)
		}
	}
	return page, rows[len(rows)-1].Seq, len(rows) == syncPageSize, nil
}
