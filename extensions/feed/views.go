package feed

import (
	"errors"
	"net/http"
	"time"

	"github.com/pocketbase/dbx"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"

	"github.com/tangerine-market/tangerine/collections"
)

const maxDwellMs = 3_600_000

// viewForm is the body of POST /api/posts/{id}/views.
type viewForm struct {
	DwellMs *float64 `json:"dwell_ms"`
}

// Validate checks dwell_ms: an integer from 0 to 3,600,000 (one hour), optional.
func (f viewForm) Validate() error {
	if f.DwellMs == nil {
		return nil
	}
	v := *f.DwellMs
	if v != float64(int64(v)) || v < 0 || v > maxDwellMs {
		return validation.Errors{"dwell_ms": validation.NewError("validation_invalid_dwell", "Must be an integer number of milliseconds from 0 to 3600000.")}
	}
	return nil
}

// viewsCreate records a view of a published post. views_count rises at most once per viewer
// (user, or client IP when anonymous) per post per ViewWindow; every authenticated call also
// writes a post_views row with the dwell time, counted or not.
func (f *plugin) viewsCreate(e *core.RequestEvent) error {
	var form viewForm
	if e.Request.ContentLength != 0 {
		if err := e.BindBody(&form); err != nil {
			return e.BadRequestError("Failed to read the request body.", err)
		}
	}
	if err := form.Validate(); err != nil {
		return e.BadRequestError("Invalid view.", err)
	}

	post, err := e.App.FindRecordById(collections.Posts, e.Request.PathValue("id"))
	if err != nil || post.GetString("status") != collections.StatusPublished {
		return e.NotFoundError("", err)
	}

	viewer := "ip:" + e.RealIP()
	var user string
	if e.Auth != nil && !e.Auth.IsSuperuser() {
		user = e.Auth.Id
		viewer = "u:" + user
	}
	dwell := 0
	if form.DwellMs != nil {
		dwell = int(*form.DwellMs)
	}

	now := time.Now()
	err = e.App.RunInTransaction(func(txApp core.App) error {
		res, err := txApp.DB().NewQuery(`
			INSERT INTO {{_view_marks}} ([[post]], [[viewer]], [[at]]) VALUES ({:post}, {:viewer}, {:now})
			ON CONFLICT ([[post]], [[viewer]]) DO UPDATE SET [[at]] = excluded.[[at]]
			WHERE {{_view_marks}}.[[at]] <= {:expired}`,
		).Bind(dbx.Params{
			"post": post.Id, "viewer": viewer,
			"now": now.UnixMilli(), "expired": now.Add(-f.cfg.ViewWindow).UnixMilli(),
		}).Execute()
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			_, err := txApp.DB().NewQuery("UPDATE {{posts}} SET [[views_count]] = [[views_count]] + 1 WHERE [[id]] = {:id}").
				Bind(dbx.Params{"id": post.Id}).Execute()
			if err != nil {
				return err
			}
		}
		if user == "" {
			return nil
		}
		views, err := txApp.FindCachedCollectionByNameOrId(collections.PostViews)
		if err != nil {
			return err
		}
		view := core.NewRecord(views)
		view.Set("user", user)
		view.Set("post", post.Id)
		view.Set("dwell_ms", dwell)
		return txApp.Save(view)
	})
	if err != nil {
		var verr validation.Errors
		if errors.As(err, &verr) {
			return e.BadRequestError("Invalid view.", verr)
		}
		return e.InternalServerError("Failed to record the view.", err)
	}
	return e.NoContent(http.StatusNoContent)
}

// pruneViewMarks drops the marks whose window has passed.
func (f *plugin) pruneViewMarks() error {
	_, err := f.app.DB().NewQuery("DELETE FROM {{_view_marks}} WHERE [[at]] <= {:expired}").
		Bind(dbx.Params{"expired": time.Now().Add(-f.cfg.ViewWindow).UnixMilli()}).Execute()
	return err
}
