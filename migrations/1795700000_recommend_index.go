package migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// The recommendation and search index (extensions/recommend): internal tables, never exposed
// through the records API.
//   - _recommend_queue: changes of posts, products and users waiting for the indexer, written
//     in the same transaction as the change itself, removed only once indexed.
//   - _recommend_vectors: every indexed item's vector and filter attributes; the embedded vector
//     store is loaded from it at start, and taste vectors read item vectors from it.
//   - _recommend_docs + _recommend_fts: the keyword index (FTS5, contentless) of analysed text;
//     _recommend_docs maps an FTS rowid to (kind, record id) and says whether it is published
//     (users: active) and which version of the record it holds.
//   - _recommend_meta: small key/value facts (which embedder produced the stored vectors).
func init() {
	m.Register(func(app core.App) error {
		_, err := app.DB().NewQuery(`
			CREATE TABLE IF NOT EXISTS {{_recommend_queue}} (
				[[id]]         INTEGER PRIMARY KEY AUTOINCREMENT,
				[[collection]] TEXT NOT NULL,
				[[record]]     TEXT NOT NULL,
				[[op]]         TEXT NOT NULL,
				[[enqueued]]   INTEGER NOT NULL
			);
			CREATE TABLE IF NOT EXISTS {{_recommend_vectors}} (
				[[id]]             TEXT PRIMARY KEY NOT NULL,
				[[kind]]           TEXT NOT NULL,
				[[owner]]          TEXT NOT NULL,
				[[published]]      INTEGER NOT NULL,
				[[created]]        INTEGER NOT NULL,
				[[source_updated]] TEXT NOT NULL,
				[[text_hash]]      TEXT NOT NULL,
				[[vec]]            BLOB NOT NULL
			);
			CREATE TABLE IF NOT EXISTS {{_recommend_docs}} (
				[[doc]]       INTEGER PRIMARY KEY AUTOINCREMENT,
				[[kind]]      TEXT NOT NULL,
				[[rid]]       TEXT NOT NULL,
				[[published]] INTEGER NOT NULL,
				[[updated]]   TEXT NOT NULL
			);
			CREATE UNIQUE INDEX IF NOT EXISTS idx_recommend_docs_kind_rid ON {{_recommend_docs}} ([[kind]], [[rid]]);
			CREATE VIRTUAL TABLE IF NOT EXISTS {{_recommend_fts}} USING fts5(
				body, content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 2'
			);
			CREATE TABLE IF NOT EXISTS {{_recommend_meta}} (
				[[key]]   TEXT PRIMARY KEY NOT NULL,
				[[value]] TEXT NOT NULL
			);
		`).Execute()
		return err
	}, func(app core.App) error {
		_, err := app.DB().NewQuery(`
			DROP TABLE IF EXISTS {{_recommend_meta}};
			DROP TABLE IF EXISTS {{_recommend_fts}};
			DROP TABLE IF EXISTS {{_recommend_docs}};
			DROP TABLE IF EXISTS {{_recommend_vectors}};
			DROP TABLE IF EXISTS {{_recommend_queue}};
		`).Execute()
		return err
	})
}
