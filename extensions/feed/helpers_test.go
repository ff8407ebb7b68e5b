package feed_test

import (
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

func dbxHash(col string, v any) dbx.HashExp { return dbx.HashExp{col: v} }

// fastItems unbinds the OnRecordEnrich handler that tests.TestApp binds to count events: the
// feeds leave their items to the records API's rendering when an app has such handlers, and
// Tangerine has none, so the tests would otherwise miss the path that serves.
func fastItems(app core.App) { app.OnRecordEnrich().UnbindAll() }
