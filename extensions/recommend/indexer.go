package recommend

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"github.com/tangerine-market/tangerine/collections"
)

// Internal tables (migrations/1795700000_recommend_index.go).
const (
	queueTable   = "_recommend_queue"
	vectorsTable = "_recommend_vectors"
	docsTable    = "_recommend_docs"
	ftsTable     = "_recommend_fts"
	metaTable    = "_recommend_meta"
)

// kindUser is the keyword index kind of users (they have no vectors).
const kindUser = "user"

// indexed are the collections whose changes the indexer follows, with their index kind.
var indexed = map[string]string{
	collections.Posts:    KindPost,
	collections.Products: KindProduct,
	collections.Users:    kindUser,
}

// userSearchFields are the users fields in the keyword index; other user updates (password,
// avatar, settings) are not queued.
var userSearchFields = []string{"handle", "name", "bio", "status"}

// bindQueueHooks queues every create, update and delete of posts, products and users in the
// transaction of the change, so that a change is indexed eventually even when the process dies
// right after the commit, and wakes the indexer after the commit.
func (p *Plugin) bindQueueHooks() {
	for name := range indexed {
		p.app.OnRecordCreate(name).BindFunc(p.queueHook("create"))
		p.app.OnRecordUpdate(name).BindFunc(p.queueHook("update"))
		p.app.OnRecordDelete(name).BindFunc(p.queueHook("delete"))
		wake := func(e *core.RecordEvent) error {
			p.notify()
			return e.Next()
		}
		p.app.OnRecordAfterCreateSuccess(name).BindFunc(wake)
		p.app.OnRecordAfterUpdateSuccess(name).BindFunc(wake)
		p.app.OnRecordAfterDeleteSuccess(name).BindFunc(wake)
	}
}

func (p *Plugin) queueHook(op string) func(e *core.RecordEvent) error {
	return func(e *core.RecordEvent) error {
		name := e.Record.Collection().Name
		if op == "update" && name == collections.Users && !changedAny(e.Record, userSearchFields) {
			return e.Next()
		}
		return e.App.RunInTransaction(func(txApp core.App) error {
			e.App = txApp
			if err := e.Next(); err != nil {
				return err
			}
			return enqueue(txApp, name, e.Record.Id, op)
		})
	}
}

func changedAny(r *core.Record, fields []string) bool {
	orig := r.Original()
	for _, f := range fields {
		if r.GetString(f) != orig.GetString(f) {
			return true
		}
	}
	return false
}

func enqueue(app core.App, collection, id, op string) error {
	_, err := app.DB().Insert(queueTable, dbx.Params{
		"collection": collection, "record": id, "op": op, "enqueued": time.Now().UnixMilli(),
	}).Execute()
	return err
}

// notify wakes the indexer without blocking.
func (p *Plugin) notify() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// work is the indexer goroutine: it drains the queue whenever woken, every PollInterval, and
// after a failure with a growing back-off, until stop is closed.
func (p *Plugin) work(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()

	timer := time.NewTimer(0)
	defer timer.Stop()
	var backoff time.Duration
	for {
		select {
		case <-stop:
			return
		case <-p.wake:
			if backoff > 0 {
				continue // the back-off timer decides when to retry
			}
		case <-timer.C:
		}
		err := p.Sync(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			backoff = min(max(2*backoff, time.Second), time.Minute)
			p.app.Logger().Error("Recommendation indexer failed; retrying", "error", err, "retryIn", backoff.String())
		} else {
			backoff = 0
		}
		timer.Reset(max(backoff, p.cfg.PollInterval))
	}
}

// Sync indexes queued changes until the queue is empty or ctx ends. The indexer calls it;
// tests and commands may call it too (queue processing is serialised).
func (p *Plugin) Sync(ctx context.Context) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := p.processBatch(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
	}
}

type queued struct {
	Id         int64  `db:"id"`
	Collection string `db:"collection"`
	Record     string `db:"record"`
}

// processBatch indexes up to BatchSize queued changes and removes their queue rows, in one
// transaction with the index tables, only once the vector store has taken them. Whatever the
// op, the record's current state decides: present means upsert, absent means delete, so
// replaying a change is harmless.
func (p *Plugin) processBatch(ctx context.Context) (int, error) {
	p.procMu.Lock()
	defer p.procMu.Unlock()
	if err := p.checkEmbedder(ctx); err != nil {
		return 0, err
	}

	var rows []queued
	err := p.app.DB().Select("id", "collection", "record").From(queueTable).
		OrderBy("id").Limit(int64(p.cfg.BatchSize)).All(&rows)
	if err != nil || len(rows) == 0 {
		return 0, err
	}

	byCollection := map[string][]string{}
	seen := map[string]bool{}
	queueIds := make([]any, 0, len(rows))
	for _, r := range rows {
		queueIds = append(queueIds, r.Id)
		if _, ok := indexed[r.Collection]; !ok || seen[r.Collection+"/"+r.Record] {
			continue
		}
		seen[r.Collection+"/"+r.Record] = true
		byCollection[r.Collection] = append(byCollection[r.Collection], r.Record)
	}

	var b batch
	for name, ids := range byCollection {
		if err := p.collect(ctx, &b, name, ids); err != nil {
			return 0, err
		}
	}
	if err := p.embedPending(ctx, &b); err != nil {
		return 0, err
	}
	if len(b.items) > 0 {
		if err := p.cfg.Store.Upsert(ctx, b.items...); err != nil {
			return 0, err
		}
	}
	if len(b.gone) > 0 {
		if err := p.cfg.Store.Delete(ctx, b.gone...); err != nil {
			return 0, err
		}
	}

	err = p.app.RunInTransaction(func(txApp core.App) error {
		if err := b.write(txApp); err != nil {
			return err
		}
		_, err := txApp.DB().Delete(queueTable, dbx.In("id", queueIds...)).Execute()
		return err
	})
	if err != nil {
		return 0, err
	}
	return len(rows), nil
}

// batch is what one processBatch writes.
type batch struct {
	items   []Item      // to upsert into the store
	rows    []vectorRow // their _recommend_vectors rows, same order
	pending []int       // indexes into items/rows still to embed
	texts   []string    // their texts
	gone    []string    // item ids to delete from the store
	docs    []docRow    // keyword index rows to write
	undocs  []docKey    // keyword index rows to delete
}

type vectorRow struct {
	id, kind, owner, updated, textHash string
	published                          bool
	created                            int64
}

type docKey struct{ kind, rid string }

type docRow struct {
	docKey
	body, updated string
	published     bool
}

// collect loads the records of one collection and adds what to write for them to b.
func (p *Plugin) collect(ctx context.Context, b *batch, name string, ids []string) error {
	kind := indexed[name]
	records, err := p.app.FindRecordsByIds(name, ids)
	if err != nil {
		return err
	}
	found := make(map[string]*core.Record, len(records))
	for _, r := range records {
		found[r.Id] = r
	}
	for _, id := range ids {
		if found[id] == nil {
			b.undocs = append(b.undocs, docKey{kind, id})
			if kind != kindUser {
				b.gone = append(b.gone, id)
			}
		}
	}
	if kind == kindUser {
		for _, r := range records {
			b.docs = append(b.docs, docRow{
				docKey:    docKey{kind, r.Id},
				body:      Analyze(r.GetString("handle") + " " + r.GetString("name") + " " + r.GetString("bio")),
				updated:   r.GetString("updated"),
				published: r.GetString("status") != collections.UserSuspended,
			})
		}
		return nil
	}

	prior, err := p.storedVectors(ctx, ids)
	if err != nil {
		return err
	}
	for _, r := range records {
		text := ItemText(r)
		sum := sha256.Sum256([]byte(text))
		row := vectorRow{
			id:        r.Id,
			kind:      kind,
			owner:     r.GetString("user"),
			updated:   r.GetString("updated"),
			textHash:  hex.EncodeToString(sum[:16]),
			published: r.GetString("status") == collections.StatusPublished,
			created:   r.GetDateTime("created").Time().Unix(),
		}
		item := Item{Id: r.Id, Kind: kind, Owner: row.owner, Published: row.published, CreatedUnix: row.created}
		if old, ok := prior[r.Id]; ok && old.textHash == row.textHash {
			item.Vector = old.vec // same text: only the attributes changed (status, ...)
		} else {
			b.pending = append(b.pending, len(b.items))
			b.texts = append(b.texts, text)
		}
		b.items = append(b.items, item)
		b.rows = append(b.rows, row)
		b.docs = append(b.docs, docRow{
			docKey:    docKey{kind, r.Id},
			body:      Analyze(text),
			updated:   row.updated,
			published: row.published,
		})
	}
	return nil
}

// embedPending embeds the texts collect could not reuse a stored vector for.
func (p *Plugin) embedPending(ctx context.Context, b *batch) error {
	if len(b.texts) == 0 {
		return nil
	}
	ectx, cancel := context.WithTimeout(ctx, p.cfg.EmbedTimeout)
	defer cancel()
	vecs, err := p.cfg.Embedder.Embed(ectx, b.texts)
	if err != nil {
		return err
	}
	if len(vecs) != len(b.texts) {
		return errors.New("recommend: the embedder returned a wrong number of vectors")
	}
	for i, at := range b.pending {
		b.items[at].Vector = vecs[i]
	}
	return nil
}

// write stores b's vector and keyword rows.
func (b *batch) write(txApp core.App) error {
	db := txApp.DB()
	for i, r := range b.rows {
		_, err := db.NewQuery(`
			INSERT INTO {{` + vectorsTable + `}} ([[id]], [[kind]], [[owner]], [[published]], [[created]], [[source_updated]], [[text_hash]], [[vec]])
			VALUES ({:id}, {:kind}, {:owner}, {:published}, {:created}, {:updated}, {:hash}, {:vec})
			ON CONFLICT ([[id]]) DO UPDATE SET [[kind]] = excluded.[[kind]], [[owner]] = excluded.[[owner]],
				[[published]] = excluded.[[published]], [[created]] = excluded.[[created]],
				[[source_updated]] = excluded.[[source_updated]], [[text_hash]] = excluded.[[text_hash]],
				[[vec]] = excluded.[[vec]]`,
		).Bind(dbx.Params{
			"id": r.id, "kind": r.kind, "owner": r.owner, "published": r.published, "created": r.created,
			"updated": r.updated, "hash": r.textHash, "vec": encodeVector(b.items[i].Vector),
		}).Execute()
		if err != nil {
			return err
		}
	}
	if len(b.gone) > 0 {
		ids := make([]any, len(b.gone))
		for i, id := range b.gone {
			ids[i] = id
		}
		if _, err := db.Delete(vectorsTable, dbx.In("id", ids...)).Execute(); err != nil {
			return err
		}
	}
	for _, k := range b.undocs {
		if err := deleteDoc(txApp, k); err != nil {
			return err
		}
	}
	for _, d := range b.docs {
		if err := writeDoc(txApp, d); err != nil {
			return err
		}
	}
	return nil
}

func deleteDoc(txApp core.App, k docKey) error {
	var doc int64
	err := txApp.DB().Select("doc").From(docsTable).Where(dbx.HashExp{"kind": k.kind, "rid": k.rid}).Row(&doc)
	if err != nil {
		if isNoRows(err) {
			return nil
		}
		return err
	}
	if _, err := txApp.DB().Delete(ftsTable, dbx.HashExp{"rowid": doc}).Execute(); err != nil {
		return err
	}
	_, err = txApp.DB().Delete(docsTable, dbx.HashExp{"doc": doc}).Execute()
	return err
}

func writeDoc(txApp core.App, d docRow) error {
	if err := deleteDoc(txApp, d.docKey); err != nil {
		return err
	}
	res, err := txApp.DB().Insert(docsTable, dbx.Params{
		"kind": d.kind, "rid": d.rid, "published": d.published, "updated": d.updated,
	}).Execute()
	if err != nil {
		return err
	}
	doc, err := res.LastInsertId()
	if err != nil {
		return err
	}
	_, err = txApp.DB().Insert(ftsTable, dbx.Params{"rowid": doc, "body": d.body}).Execute()
	return err
}

// ItemText is the text embedded and keyword-indexed for a post (text and tags) or a product
// (name, description and tags).
func ItemText(r *core.Record) string {
	var parts []string
	if r.Collection().Name == collections.Products {
		parts = append(parts, r.GetString("name"), r.GetString("description"))
	} else {
		parts = append(parts, r.GetString("text"))
	}
	var tags []string
	_ = r.UnmarshalJSONField("tags", &tags)
	parts = append(parts, tags...)
	return strings.Join(parts, "\n")
}
