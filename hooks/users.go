package hooks

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/pocketbase/dbx"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"

	"github.com/tangerine-market/tangerine/collections"
)

const (
	handleMinLen = 3
	handleMaxLen = 30
)

func bindUserHooks(app core.App) {
	app.OnRecordCreate(collections.Users).BindFunc(func(e *core.RecordEvent) error {
		if e.Record.GetString("handle") == "" {
			handle, err := generateHandle(e.App, handleSeed(e.Record))
			if err != nil {
				return err
			}
			e.Record.Set("handle", handle)
		}
		return e.Next()
	})

	// suspending an account invalidates every token it holds
	app.OnRecordUpdate(collections.Users).BindFunc(func(e *core.RecordEvent) error {
		if e.Record.GetString("status") == collections.UserSuspended &&
			e.Record.Original().GetString("status") != collections.UserSuspended {
			e.Record.RefreshTokenKey()
		}
		return e.Next()
	})

	// An OAuth2 identity whose provider says the email is not verified never claims an
	// existing account by that email, nor opens a new one with it (the Google provider already
	// drops unverified emails; this holds for every provider). Email is required on users, so
	// such an identity gets a clear 400 unless it is already linked to an account.
	app.OnRecordAuthWithOAuth2Request(collections.Users).BindFunc(func(e *core.RecordAuthWithOAuth2RequestEvent) error {
		if e.OAuth2User != nil && e.OAuth2User.Email != "" && e.OAuth2User.RawUser != nil {
			if v, ok := e.OAuth2User.RawUser["email_verified"].(bool); ok && !v {
				if e.Record == nil || e.IsNewRecord || isLinkedByEmailOnly(e) {
					return e.BadRequestError("The sign-in provider has not verified this email address.",
						validation.Errors{"email": validation.NewError("validation_unverified_oauth2_email", "The provider has not verified this email address.")})
				}
			}
		}
		// an OAuth2 sign-up takes its handle from the provider's name (the email's local part
		// when there is no name; see the users create hook)
		if e.IsNewRecord && e.OAuth2User != nil && e.OAuth2User.Name != "" {
			if e.CreateData == nil {
				e.CreateData = map[string]any{}
			}
			if _, ok := e.CreateData["handle"]; !ok {
				h, err := generateHandle(e.App, e.OAuth2User.Name)
				if err != nil {
					return e.InternalServerError("Failed to generate a handle.", err)
				}
				e.CreateData["handle"] = h
			}
		}
		return e.Next()
	})
}

// isLinkedByEmailOnly reports whether the event's record was found through the provider's
// email rather than through an existing link to this provider identity.
func isLinkedByEmailOnly(e *core.RecordAuthWithOAuth2RequestEvent) bool {
	_, err := e.App.FindFirstExternalAuthByExpr(dbx.HashExp{
		"collectionRef": e.Record.Collection().Id,
		"recordRef":     e.Record.Id,
		"provider":      e.ProviderName,
		"providerId":    e.OAuth2User.Id,
	})
	return errors.Is(err, sql.ErrNoRows)
}

// handleSeed is the text a handle is generated from: the email's local part, else the name.
func handleSeed(r *core.Record) string {
	if email := r.Email(); email != "" {
		if i := strings.IndexByte(email, '@'); i > 0 {
			return email[:i]
		}
	}
	return r.GetString("name")
}

// normalizeHandle lower-cases seed and keeps only the characters a handle allows.
func normalizeHandle(seed string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(seed) {
		if b.Len() >= handleMaxLen {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '.':
			b.WriteRune(r)
		case unicode.IsSpace(r) || r == '-':
			b.WriteByte('_')
		}
	}
	h := strings.Trim(b.String(), "._")
	if h == "" {
		h = "user"
	}
	for len(h) < handleMinLen {
		h += "_"
	}
	return h
}

// generateHandle returns a free handle derived from seed, with a numeric suffix on clash.
// The unique index stays the final guard against a concurrent sign-up taking it first.
func generateHandle(app core.App, seed string) (string, error) {
	base := normalizeHandle(seed)
	for i := 0; i < 1000; i++ {
		candidate := base
		if i > 0 {
			suffix := fmt.Sprint(i + 1)
			if i >= 10 {
				suffix = fmt.Sprint(1000 + (i*7919)%9000)
			}
			if len(candidate)+len(suffix) > handleMaxLen {
				candidate = candidate[:handleMaxLen-len(suffix)]
			}
			candidate += suffix
		}
		var n int
		err := app.DB().Select("count(*)").From(collections.Users).
			Where(dbx.HashExp{"handle": candidate}).Row(&n)
		if err != nil {
			return "", err
		}
		if n == 0 {
			return candidate, nil
		}
	}
	return "", errors.New("hooks: no free handle")
}
