package main

import (
	"database/sql"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// The home feed's SQL as extensions/feed builds it (dbx quoting removed), and candidate
// rewrites, for -explain. "?1" is the auth user's id.
var explainQueries = []struct {
	name, sql string
	heavyOnly bool // the path the route takes for users following ≥ FanoutThreshold
	lightOnly bool
	withIndex bool // needs candidateIndex (-explain-index)
	cursor    bool // ?2, ?3: created and id of the 20th post of the user's first page
}{
	{name: "route, few-authors path (IN + temp b-tree)", lightOnly: true, sql: `SELECT posts.* FROM posts
WHERE (posts.user IN (SELECT following FROM follows WHERE follower = ?1 UNION ALL SELECT ?1))
  AND (+posts.status = 'published')
ORDER BY posts.created DESC, posts.id DESC LIMIT 21`},
	{name: "route, many-authors path (walk status index + EXISTS)", heavyOnly: true, sql: `SELECT posts.* FROM posts
WHERE ((posts.user = ?1 OR EXISTS (SELECT 1 FROM follows WHERE follower = ?1 AND following = posts.user)))
  AND (posts.status = 'published')
ORDER BY posts.created DESC, posts.id DESC LIMIT 21`},
	{name: "route, few-authors path, page 2 (cursor)", lightOnly: true, cursor: true, sql: `SELECT posts.* FROM posts
WHERE (posts.user IN (SELECT following FROM follows WHERE follower = ?1 UNION ALL SELECT ?1))
  AND (+posts.status = 'published')
  AND ((posts.created < ?2 OR (posts.created = ?2 AND posts.id < ?3)))
ORDER BY posts.created DESC, posts.id DESC LIMIT 21`},
	{name: "route, many-authors path, page 2 (cursor)", heavyOnly: true, cursor: true, sql: `SELECT posts.* FROM posts
WHERE ((posts.user = ?1 OR EXISTS (SELECT 1 FROM follows WHERE follower = ?1 AND following = posts.user)))
  AND (posts.status = 'published')
  AND ((posts.created < ?2 OR (posts.created = ?2 AND posts.id < ?3)))
ORDER BY posts.created DESC, posts.id DESC LIMIT 21`},
	{name: "candidate: few-authors path, page 2 with a row-value cursor", lightOnly: true, cursor: true, sql: `SELECT posts.* FROM posts
WHERE (posts.user IN (SELECT following FROM follows WHERE follower = ?1 UNION ALL SELECT ?1))
  AND (+posts.status = 'published')
  AND ((posts.created, posts.id) < (?2, ?3))
ORDER BY posts.created DESC, posts.id DESC LIMIT 21`},
	{name: "candidate: many-authors path, page 2 with a row-value cursor", heavyOnly: true, cursor: true, sql: `SELECT posts.* FROM posts
WHERE ((posts.user = ?1 OR EXISTS (SELECT 1 FROM follows WHERE follower = ?1 AND following = posts.user)))
  AND (posts.status = 'published')
  AND ((posts.created, posts.id) < (?2, ?3))
ORDER BY posts.created DESC, posts.id DESC LIMIT 21`},
	{name: "candidate: ids first from the (user, created, id) index, rows after", lightOnly: true, sql: `SELECT posts.* FROM posts WHERE posts.id IN (
  SELECT p.id FROM posts p
  WHERE p.user IN (SELECT following FROM follows WHERE follower = ?1 UNION ALL SELECT ?1)
    AND +p.status = 'published'
  ORDER BY p.created DESC, p.id DESC LIMIT 21)
ORDER BY posts.created DESC, posts.id DESC`},
	{name: "candidate: per-author newest 21 via correlated LIMIT, then merge", lightOnly: true, sql: `SELECT posts.* FROM posts WHERE posts.id IN (
  SELECT p.id FROM (SELECT following AS a FROM follows WHERE follower = ?1 UNION ALL SELECT ?1) f
  JOIN posts p ON p.id IN (SELECT x.id FROM posts x WHERE x.user = f.a AND +x.status = 'published'
                           ORDER BY x.created DESC, x.id DESC LIMIT 21)
  ORDER BY p.created DESC, p.id DESC LIMIT 21)
ORDER BY posts.created DESC, posts.id DESC`},
	{name: "candidate: ids first from a (user, status, created, id) index (covering), rows after", lightOnly: true, withIndex: true, sql: `SELECT posts.* FROM posts WHERE posts.id IN (
  SELECT p.id FROM posts p
  WHERE p.user IN (SELECT following FROM follows WHERE follower = ?1 UNION ALL SELECT ?1)
    AND p.status = 'published'
  ORDER BY p.created DESC, p.id DESC LIMIT 21)
ORDER BY posts.created DESC, posts.id DESC`},
	{name: "candidate: route's few-authors SQL unchanged, with a (user, status, created, id) index", lightOnly: true, withIndex: true, sql: `SELECT posts.* FROM posts
WHERE (posts.user IN (SELECT following FROM follows WHERE follower = ?1 UNION ALL SELECT ?1))
  AND (posts.status = 'published')
ORDER BY posts.created DESC, posts.id DESC LIMIT 21`},
}

// candidateIndex is the index that the withIndex candidates assume (not in the migration).
const candidateIndex = "CREATE INDEX IF NOT EXISTS idx_bench_posts_user_status_created ON posts (user, status, created, id)"

// explain prints EXPLAIN QUERY PLAN and the mean time of each feed query for a few users.
func explain(w io.Writer, dbPath string, users []benchUser, fanout int, withIndex bool) error {
	db, err := sql.Open("sqlite", dbPath+"?_pragma=cache_size(-32000)&_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	if withIndex {
		t := time.Now()
		if _, err := db.Exec(candidateIndex); err != nil {
			return err
		}
		fmt.Fprintf(w, "\n%s (built in %s; it stays in this bench database)\n", candidateIndex, time.Since(t).Round(time.Millisecond))
	}
	var version string
	if err := db.QueryRow("SELECT sqlite_version()").Scan(&version); err != nil {
		return err
	}
	var stat1 int
	_ = db.QueryRow("SELECT count(*) FROM sqlite_stat1").Scan(&stat1)
	fmt.Fprintf(w, "\n### EXPLAIN QUERY PLAN (SQLite %s, sqlite_stat1 rows: %d)\n", version, stat1)
	for _, u := range users {
		heavy := u.following >= fanout
		var curCreated, curId string
		for _, q := range explainQueries {
			if (q.heavyOnly && !heavy) || (q.lightOnly && heavy) || q.withIndex != withIndex && q.withIndex {
				continue
			}
			fmt.Fprintf(w, "\n#### %s — user %s following %d\n\n```sql\n%s\n```\n\n```\n", q.name, u.id, u.following, q.sql)
			args := []any{u.id}
			if q.cursor {
				if curId == "" {
					fmt.Fprintf(w, "(no second page)\n")
					continue
				}
				args = append(args, curCreated, curId)
			}
			rows, err := db.Query("EXPLAIN QUERY PLAN "+q.sql, args...)
			if err != nil {
				return fmt.Errorf("%s: %w", q.name, err)
			}
			for rows.Next() {
				var id, parent, notused int
				var detail string
				if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
					rows.Close()
					return err
				}
				fmt.Fprintf(w, "%3d %3d %s\n", id, parent, detail)
			}
			rows.Close()
			n, runs := 0, 0
			t := time.Now()
			var ids []string
			for runs < 20 && (runs < 3 || time.Since(t) < 2*time.Second) {
				rows, err := db.Query(q.sql, args...)
				if err != nil {
					return err
				}
				cols, _ := rows.Columns()
				idCol := slices.Index(cols, "id")
				createdCol := slices.Index(cols, "created")
				vals := make([]any, len(cols))
				for i := range vals {
					vals[i] = new(sql.RawBytes)
				}
				n, ids = 0, ids[:0]
				for rows.Next() {
					if err := rows.Scan(vals...); err != nil {
						rows.Close()
						return err
					}
					ids = append(ids, string(*vals[idCol].(*sql.RawBytes)))
					n++
					if n == 20 && !q.cursor && !q.withIndex && strings.HasPrefix(q.name, "route") {
						curCreated, curId = string(*vals[createdCol].(*sql.RawBytes)), ids[n-1]
					}
				}
				rows.Close()
				runs++
			}
			fmt.Fprintf(w, "```\n\n%.2f ms per query (mean of %d), %d rows, first ids %s\n", float64(time.Since(t).Microseconds())/1000/float64(runs), runs, n, strings.Join(ids[:min(3, len(ids))], ","))
		}
	}
	return nil
}
