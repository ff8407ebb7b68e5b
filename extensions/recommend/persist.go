package recommend

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// loadChunk is how many stored vectors are read and upserted at once when loading the store.
const loadChunk = 8192

func isNoRows(err error) bool {
	return errors.Is(err, sql.ErrNoRows)
}

// encodeVector packs v as little-endian float32s (the _recommend_vectors.vec format).
func encodeVector(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func decodeVector(b []byte) []float32 {
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

type storedVector struct {
	textHash string
	vec      []float32
}

// storedVectors returns the stored vectors (of the store's dimension) of the given item ids;
// ids without one are absent from the map.
func (p *Plugin) storedVectors(ctx context.Context, ids []string) (map[string]storedVector, error) {
	out := make(map[string]storedVector, len(ids))
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		var rows []struct {
			Id       string `db:"id"`
			TextHash string `db:"text_hash"`
			Vec      []byte `db:"vec"`
		}
		err := p.app.DB().Select("id", "text_hash", "vec").WithContext(ctx).From(vectorsTable).
			Where(dbx.In("id", args...)).All(&rows)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			if len(r.Vec) == 4*p.cfg.Store.Dim() {
				out[r.Id] = storedVector{textHash: r.TextHash, vec: decodeVector(r.Vec)}
			}
		}
	}
	return out, nil
}

// checkEmbedder forgets the stored vectors when another embedder produced them (reconcile then
// queues every item again). It runs before the first batch or start of this plugin, once.
func (p *Plugin) checkEmbedder(ctx context.Context) error {
	p.checkMu.Lock()
	defer p.checkMu.Unlock()
	if p.checked {
		return nil
	}
	var stored string
	err := p.app.DB().Select("value").WithContext(ctx).From(metaTable).
		Where(dbx.HashExp{"key": "embedder"}).Row(&stored)
	if err != nil && !isNoRows(err) {
		return err
	}
	if stored != p.cfg.EmbedderId {
		if stored != "" {
			p.app.Logger().Info("The embedder changed; re-embedding every post and product",
				"from", stored, "to", p.cfg.EmbedderId)
		}
		if err := p.forgetVectors(ctx); err != nil {
			return err
		}
	}
	p.checked = true
	return nil
}

// forgetVectors deletes every stored vector, from the table and the store, and records the
// current embedder. The caller holds procMu or runs before the indexer starts.
func (p *Plugin) forgetVectors(ctx context.Context) error {
	var ids []string
	if err := p.app.DB().Select("id").WithContext(ctx).From(vectorsTable).Column(&ids); err != nil {
		return err
	}
	for start := 0; start < len(ids); start += loadChunk {
		if err := p.cfg.Store.Delete(ctx, ids[start:min(start+loadChunk, len(ids))]...); err != nil {
			return err
		}
	}
	return p.app.RunInTransaction(func(txApp core.App) error {
		if _, err := txApp.DB().NewQuery("DELETE FROM {{" + vectorsTable + "}}").Execute(); err != nil {
			return err
		}
		_, err := txApp.DB().NewQuery(`
			INSERT INTO {{` + metaTable + `}} ([[key]], [[value]]) VALUES ('embedder', {:v})
			ON CONFLICT ([[key]]) DO UPDATE SET [[value]] = excluded.[[value]]`,
		).Bind(dbx.Params{"v": p.cfg.EmbedderId}).Execute()
		return err
	})
}

// loadStore copies the stored vectors into the store when the store's count differs from the
// table's: always for a fresh [MemoryStore], and for an external store that lost data.
func (p *Plugin) loadStore(ctx context.Context) error {
	var n int
	if err := p.app.DB().Select("count(*)").WithContext(ctx).From(vectorsTable).Row(&n); err != nil {
		return err
	}
	have, err := p.cfg.Store.Count(ctx)
	if err != nil {
		return fmt.Errorf("recommend: count the vector store: %w", err)
	}
	if have == n {
		return nil
	}
	started := time.Now()
	var after int64
	for {
		var rows []struct {
			Rowid     int64  `db:"rowid"`
			Id        string `db:"id"`
			Kind      string `db:"kind"`
			Owner     string `db:"owner"`
			Published bool   `db:"published"`
			Created   int64  `db:"created"`
			Vec       []byte `db:"vec"`
		}
		err := p.app.DB().
			Select("rowid", "id", "kind", "owner", "published", "created", "vec").WithContext(ctx).From(vectorsTable).
			Where(dbx.NewExp("rowid > {:after}", dbx.Params{"after": after})).
			OrderBy("rowid").Limit(loadChunk).All(&rows)
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			break
		}
		items := make([]Item, 0, len(rows))
		for _, r := range rows {
			after = r.Rowid
			if len(r.Vec) != 4*p.cfg.Store.Dim() {
				continue
			}
			items = append(items, Item{Id: r.Id, Kind: r.Kind, Owner: r.Owner, Published: r.Published,
				CreatedUnix: r.Created, Vector: decodeVector(r.Vec)})
		}
		if err := p.cfg.Store.Upsert(ctx, items...); err != nil {
			return fmt.Errorf("recommend: load the vector store: %w", err)
		}
	}
	p.app.Logger().Info("Loaded the recommendation vectors", "count", n, "took", time.Since(started).String())
	return nil
}

// reconcile queues every post and product that has no stored vector or an outdated one, every
// user missing from or outdated in the keyword index, and every indexed item whose record is
// gone. With the queue written in the records' own transactions this finds nothing in normal
// operation; it repairs a restored backup, an index dropped by hand or a changed embedder.
func (p *Plugin) reconcile() error {
	now := time.Now().UnixMilli()
	stmts := []string{
		`INSERT INTO {{_recommend_queue}} ([[collection]], [[record]], [[op]], [[enqueued]])
		 SELECT 'posts', p.[[id]], 'reconcile', {:now} FROM {{posts}} p
		 LEFT JOIN {{_recommend_vectors}} v ON v.[[id]] = p.[[id]]
		 WHERE v.[[id]] IS NULL OR v.[[source_updated]] != p.[[updated]]`,
		`INSERT INTO {{_recommend_queue}} ([[collection]], [[record]], [[op]], [[enqueued]])
		 SELECT 'products', p.[[id]], 'reconcile', {:now} FROM {{products}} p
		 LEFT JOIN {{_recommend_vectors}} v ON v.[[id]] = p.[[id]]
		 WHERE v.[[id]] IS NULL OR v.[[source_updated]] != p.[[updated]]`,
		`INSERT INTO {{_recommend_queue}} ([[collection]], [[record]], [[op]], [[enqueued]])
		 SELECT CASE v.[[kind]] WHEN 'post' THEN 'posts' ELSE 'products' END, v.[[id]], 'reconcile', {:now}
		 FROM {{_recommend_vectors}} v
		 WHERE NOT EXISTS (SELECT 1 FROM {{posts}} WHERE [[id]] = v.[[id]])
		   AND NOT EXISTS (SELECT 1 FROM {{products}} WHERE [[id]] = v.[[id]])`,
		`INSERT INTO {{_recommend_queue}} ([[collection]], [[record]], [[op]], [[enqueued]])
		 SELECT 'users', u.[[id]], 'reconcile', {:now} FROM {{users}} u
		 LEFT JOIN {{_recommend_docs}} d ON d.[[kind]] = 'user' AND d.[[rid]] = u.[[id]]
		 WHERE d.[[doc]] IS NULL OR d.[[updated]] != u.[[updated]]`,
		`INSERT INTO {{_recommend_queue}} ([[collection]], [[record]], [[op]], [[enqueued]])
		 SELECT CASE d.[[kind]] WHEN 'user' THEN 'users' WHEN 'post' THEN 'posts' ELSE 'products' END, d.[[rid]], 'reconcile', {:now}
		 FROM {{_recommend_docs}} d
		 WHERE (d.[[kind]] = 'user' AND NOT EXISTS (SELECT 1 FROM {{users}} WHERE [[id]] = d.[[rid]]))
		    OR (d.[[kind]] = 'post' AND NOT EXISTS (SELECT 1 FROM {{posts}} WHERE [[id]] = d.[[rid]]))
		    OR (d.[[kind]] = 'product' AND NOT EXISTS (SELECT 1 FROM {{products}} WHERE [[id]] = d.[[rid]]))`,
	}
	var queued int64
	err := p.app.RunInTransaction(func(txApp core.App) error {
		for _, s := range stmts {
			res, err := txApp.DB().NewQuery(s).Bind(dbx.Params{"now": now}).Execute()
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			queued += n
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("recommend: reconcile: %w", err)
	}
	if queued > 0 {
		p.app.Logger().Info("Queued records missing from the recommendation index", "count", queued)
	}
	return nil
}

// Reindex rebuilds the whole index: it forgets every stored vector and keyword entry, queues
// every post, product and user, and indexes them before returning (or until ctx ends; what is
// left stays queued and the indexer finishes it). It is safe while the app serves: routes
// answer from a shrinking-then-growing index meanwhile, never with hidden items.
func (p *Plugin) Reindex(ctx context.Context) error {
	err := func() error {
		p.procMu.Lock()
		defer p.procMu.Unlock()
		if err := p.forgetVectors(ctx); err != nil {
			return err
		}
		now := time.Now().UnixMilli()
		return p.app.RunInTransaction(func(txApp core.App) error {
			for _, s := range []string{
				"DELETE FROM {{" + docsTable + "}}",
				"INSERT INTO {{" + ftsTable + "}} ({{" + ftsTable + "}}) VALUES ('delete-all')",
				"DELETE FROM {{" + queueTable + "}}",
			} {
				if _, err := txApp.DB().NewQuery(s).Execute(); err != nil {
					return err
				}
			}
			for _, name := range []string{"posts", "products", "users"} {
				_, err := txApp.DB().NewQuery(
					"INSERT INTO {{" + queueTable + "}} ([[collection]], [[record]], [[op]], [[enqueued]]) " +
						"SELECT '" + name + "', [[id]], 'reindex', {:now} FROM {{" + name + "}}",
				).Bind(dbx.Params{"now": now}).Execute()
				if err != nil {
					return err
				}
			}
			return nil
		})
	}()
	if err != nil {
		return fmt.Errorf("recommend: reindex: %w", err)
	}
	p.lists.clear()
	p.tastes.clear()
	return p.Sync(ctx)
}
