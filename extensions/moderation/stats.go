package moderation

import (
	"database/sql"
	"math"
	"net/http"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"

	"github.com/tangerine-market/tangerine/collections"
)

// dbTimeLayout is how PocketBase stores datetimes; stored values compare as strings.
const dbTimeLayout = "2006-01-02 15:04:05.000Z"

// statsResponse is the body of GET /api/moderation/stats (docs/API.md, Moderation).
type statsResponse struct {
	ByStatus              map[string]int `json:"by_status"`
	ByTargetType          map[string]int `json:"by_target_type"`
	ByReason              map[string]int `json:"by_reason"`
	Daily                 []dailyStat    `json:"daily"`
	MedianResolutionHours *float64       `json:"median_resolution_hours"`
	TopReportedUsers      []topUser      `json:"top_reported_users"`
}

type dailyStat struct {
	Date     string `json:"date"`
	Created  int    `json:"created"`
	Resolved int    `json:"resolved"`
}

type topUser struct {
	User  *core.Record `json:"user"`
	Count int          `json:"count"`
}

type keyCount struct {
	Key   string `db:"k"`
	Count int    `db:"n"`
}

// window is the span of the daily series and the other windowed numbers: Days whole UTC days
// ending with today, as stored datetime strings [from, to).
type window struct {
	days     []string
	from, to string
}

func (p *plugin) window() window {
	now := p.cfg.Now().UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	start := today.AddDate(0, 0, -(p.cfg.Days - 1))
	w := window{from: start.Format(dbTimeLayout), to: today.AddDate(0, 0, 1).Format(dbTimeLayout)}
	for d := start; !d.After(today); d = d.AddDate(0, 0, 1) {
		w.days = append(w.days, d.Format(time.DateOnly))
	}
	return w
}

// statsGet answers GET /api/moderation/stats. by_status, by_target_type and by_reason count
// every report; the daily series, the median and the top users cover the window.
func (p *plugin) statsGet(e *core.RequestEvent) error {
	reports, err := e.App.FindCachedCollectionByNameOrId(collections.Reports)
	if err != nil {
		return e.InternalServerError("", err)
	}
	res := statsResponse{}
	for _, g := range []struct {
		field string
		dst   *map[string]int
	}{
		{"status", &res.ByStatus},
		{"target_type", &res.ByTargetType},
		{"reason", &res.ByReason},
	} {
		counts, err := p.countBy(reports, g.field)
		if err != nil {
			return e.InternalServerError("", err)
		}
		*g.dst = counts
	}

	w := p.window()
	if res.Daily, err = p.daily(w); err != nil {
		return e.InternalServerError("", err)
	}
	if res.MedianResolutionHours, err = p.medianResolutionHours(w); err != nil {
		return e.InternalServerError("", err)
	}
	if res.TopReportedUsers, err = p.topReportedUsers(e, w); err != nil {
		return e.InternalServerError("", err)
	}
	return e.JSON(http.StatusOK, res)
}

// countBy counts reports per value of a select field, with a zero for every value the field
// allows (and any stray stored value).
func (p *plugin) countBy(reports *core.Collection, field string) (map[string]int, error) {
	counts := map[string]int{}
	if f, ok := reports.Fields.GetByName(field).(*core.SelectField); ok {
		for _, v := range f.Values {
			counts[v] = 0
		}
	}
	var rows []keyCount
	err := p.app.DB().Select("[["+field+"]] AS k", "COUNT(*) AS n").
		From(collections.Reports).GroupBy(field).All(&rows)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		if r.Key != "" {
			counts[r.Key] += r.Count
		}
	}
	return counts, nil
}

func (p *plugin) daily(w window) ([]dailyStat, error) {
	params := dbx.Params{"from": w.from, "to": w.to, "resolved": "resolved", "dismissed": "dismissed"}
	var created, closed []keyCount
	err := p.app.DB().NewQuery(`
		SELECT substr([[created]], 1, 10) AS k, COUNT(*) AS n FROM {{reports}}
		WHERE [[created]] >= {:from} AND [[created]] < {:to}
		GROUP BY k
	`).Bind(params).All(&created)
	if err != nil {
		return nil, err
	}
	err = p.app.DB().NewQuery(`
		SELECT substr([[resolved_at]], 1, 10) AS k, COUNT(*) AS n FROM {{reports}}
		WHERE [[status]] IN ({:resolved}, {:dismissed}) AND [[resolved_at]] >= {:from} AND [[resolved_at]] < {:to}
		GROUP BY k
	`).Bind(params).All(&closed)
	if err != nil {
		return nil, err
	}
	byDay := make(map[string]*dailyStat, len(w.days))
	out := make([]dailyStat, len(w.days))
	for i, d := range w.days {
		out[i].Date = d
		byDay[d] = &out[i]
	}
	for _, r := range created {
		if d := byDay[r.Key]; d != nil {
			d.Created = r.Count
		}
	}
	for _, r := range closed {
		if d := byDay[r.Key]; d != nil {
			d.Resolved = r.Count
		}
	}
	return out, nil
}

// medianResolutionHours is the median of (resolved_at - created) over the reports closed in
// the window, computed by SQLite over that one column (nil when none closed), rounded to
// hundredths of an hour.
func (p *plugin) medianResolutionHours(w window) (*float64, error) {
	var median sql.NullFloat64
	err := p.app.DB().NewQuery(`
		WITH d AS (
			SELECT (julianday([[resolved_at]]) - julianday([[created]])) * 24.0 AS h FROM {{reports}}
			WHERE [[status]] IN ({:resolved}, {:dismissed}) AND [[resolved_at]] >= {:from} AND [[resolved_at]] < {:to}
		), o AS (
			SELECT h, ROW_NUMBER() OVER (ORDER BY h) AS rn, COUNT(*) OVER () AS c FROM d
		)
		SELECT AVG(h) FROM o WHERE rn IN ((c + 1) / 2, (c + 2) / 2)
	`).Bind(dbx.Params{"from": w.from, "to": w.to, "resolved": "resolved", "dismissed": "dismissed"}).Row(&median)
	if err != nil || !median.Valid {
		return nil, err
	}
	h := math.Round(median.Float64*100) / 100
	return &h, nil
}

// topReportedUsers lists the users most often named as target_user by reports filed in the
// window (any status), most reported first, ties by id; each user as the records API would
// show them to the caller.
func (p *plugin) topReportedUsers(e *core.RequestEvent, w window) ([]topUser, error) {
	var rows []keyCount
	err := p.app.DB().NewQuery(`
		SELECT [[target_user]] AS k, COUNT(*) AS n FROM {{reports}}
		WHERE [[target_user]] != '' AND [[created]] >= {:from} AND [[created]] < {:to}
		GROUP BY [[target_user]]
		ORDER BY n DESC, k ASC
		LIMIT {:limit}
	`).Bind(dbx.Params{"from": w.from, "to": w.to, "limit": p.cfg.TopUsers}).All(&rows)
	if err != nil {
		return nil, err
	}
	out := []topUser{}
	if len(rows) == 0 {
		return out, nil
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.Key
	}
	users, err := p.app.FindRecordsByIds(collections.Users, ids)
	if err != nil {
		return nil, err
	}
	if err := apis.EnrichRecords(e, users); err != nil {
		return nil, err
	}
	byId := make(map[string]*core.Record, len(users))
	for _, u := range users {
		byId[u.Id] = u
	}
	for _, r := range rows {
		if u := byId[r.Key]; u != nil {
			out = append(out, topUser{User: u, Count: r.Count})
		}
	}
	return out, nil
}
