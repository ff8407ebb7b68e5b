package hooks

import (
	"net/url"
	"strings"

	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"

	"github.com/tangerine-market/tangerine/collections"
)

// selectDefaults are the values a select field takes on create when none is given. PocketBase's
// select fields have no default of their own.
var selectDefaults = map[string]map[string]string{
	collections.Users:       {"role": collections.RoleMember, "status": collections.UserActive},
	collections.Posts:       {"status": collections.StatusPublished},
	collections.Comments:    {"status": collections.StatusPublished},
	collections.Products:    {"status": collections.StatusPublished, "currency": "KRW"},
	collections.Reports:     {"status": "pending", "action": "none"},
	collections.ChatMembers: {"role": "member"},
}

// webURLFields accept only http and https links: a javascript: or data: link in a profile or
// a product card would run in the browsers of the people who click it.
var webURLFields = map[string][]string{
	collections.Users:    {"link_1", "link_2"},
	collections.Products: {"link", "image_url"},
}

func bindDefaults(app core.App) {
	for name, defaults := range selectDefaults {
		app.OnRecordCreate(name).BindFunc(func(e *core.RecordEvent) error {
			for f, v := range defaults {
				if e.Record.GetString(f) == "" {
					e.Record.Set(f, v)
				}
			}
			return e.Next()
		})
	}

	// is_public defaults to true: a bool field cannot tell "false" from "not sent", so the
	// request hook looks at the body (the OAuth2 sign-up goes through it too).
	app.OnRecordCreateRequest(collections.Users).BindFunc(func(e *core.RecordRequestEvent) error {
		sent, err := bodyFields(e)
		if err != nil {
			return e.BadRequestError("Failed to read the request body.", err)
		}
		if _, ok := sent["is_public"]; !ok {
			e.Record.Set("is_public", true)
		}
		return e.Next()
	})

	for name, fields := range webURLFields {
		validate := func(e *core.RecordEvent) error {
			for _, f := range fields {
				if err := checkWebURL(e.Record.GetString(f)); err != nil {
					return validation.Errors{f: err}
				}
			}
			return e.Next()
		}
		app.OnRecordValidate(name).BindFunc(validate)
	}
}

func checkWebURL(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return validation.NewError("validation_invalid_url", "Must be a valid http or https URL.")
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		return nil
	}
	return validation.NewError("validation_invalid_url_scheme", "Only http and https links are allowed.")
}
