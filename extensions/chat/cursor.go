package chat

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"

	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
)

const (
	defaultLimit = 20
	maxLimit     = 100
)

// cursor is a position in a newest-first list: the sort key (a datetime string) and id of
// the last item returned.
type cursor struct {
	Key string
	Id  string
}

var errBadCursor = errors.New("chat: malformed cursor")

func (c cursor) encode() string {
	return base64.RawURLEncoding.EncodeToString([]byte(c.Key + "|" + c.Id))
}

func decodeCursor(s string) (cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, errBadCursor
	}
	key, id, ok := strings.Cut(string(b), "|")
	if !ok || len(id) != 15 || len(key) < 20 || len(key) > 30 {
		return cursor{}, errBadCursor
	}
	return cursor{Key: key, Id: id}, nil
}

// page holds the validated ?limit= and cursor parameter of a list request.
type page struct {
	limit int
	after *cursor
}

// parsePage reads ?limit= (1..100, default 20) and the cursor parameter named cursorParam
// ("cursor" for the rooms, "before" for history); a bad value is a 400 naming it.
func parsePage(e *core.RequestEvent, cursorParam string) (page, error) {
	q := e.Request.URL.Query()
	p := page{limit: defaultLimit}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLimit {
			return p, e.BadRequestError("Invalid list parameters.", validation.Errors{
				"limit": validation.NewError("validation_invalid_limit", "Must be an integer from 1 to 100."),
			})
		}
		p.limit = n
	}
	if s := q.Get(cursorParam); s != "" {
		c, err := decodeCursor(s)
		if err != nil {
			return p, e.BadRequestError("Invalid list parameters.", validation.Errors{
				cursorParam: validation.NewError("validation_invalid_cursor", "Must be a next_cursor value from a previous page."),
			})
		}
		p.after = &c
	}
	return p, nil
}

// listResponse is the shape of every custom list route.
type listResponse struct {
	Items      any     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}
