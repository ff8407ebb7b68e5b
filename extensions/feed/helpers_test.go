package feed_test

import "github.com/pocketbase/dbx"

func dbxHash(col string, v any) dbx.HashExp { return dbx.HashExp{col: v} }
