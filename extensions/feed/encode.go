package feed

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"math"
	"slices"
	"strconv"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"

	"github.com/tangerine-market/tangerine/internal/jsonenc"
)

// The feeds write their items' JSON themselves, from the columns of one query, instead of
// loading core.Record models, expanding them with apis.EnrichRecords and marshalling them: the
// same keys and values as the records API (Record.PublicExport, keys sorted as its
// MarshalJSON sorts them), at a fraction of the cost. The encoder of a collection is derived
// from the collection's fields: each value goes through the field's own PrepareValue, as when
// PocketBase loads a record, so the values are the records API's; only plain text fields,
// whose PrepareValue is the identity on text, and canonical datetimes skip it.

// outKind is what one key of an item holds.
type outKind uint8

const (
	outField          outKind = iota // a column of the record's collection
	outEmail                         // the auth email: only when visible to the caller
	outCollectionId                  // the collection's id
	outCollectionName                // the collection's name
	outExpand                        // posts: {"user": <author>} (or {} without an author)
	outLiked                         // posts: the caller likes it (authenticated callers only)
)

type outKey struct {
	kind outKind
	key  string // `"name":`
	col  int    // outField, outEmail: index into recordEncoder.fields
}

// fieldEncoder writes one column.
type fieldEncoder struct {
	name  string
	field core.Field
	text  bool // PrepareValue is cast.ToString: write the column's text as it is
	date  bool // PrepareValue parses a types.DateTime: canonical text is written as it is
}

// recordEncoder writes the public JSON of one collection's records from its selected columns.
type recordEncoder struct {
	coll   *core.Collection
	fields []fieldEncoder // the selected columns, in select order
	keys   []outKey       // the output keys, sorted
	idCol  int            // the column of the id
	// auth collections: the column of emailVisibility (-1 if none)
	emailVisibility int
}

// newRecordEncoder builds the encoder of coll. extra names the keys that the caller adds
// (outExpand, outLiked), which take part in the key order. ok is false when coll has a field
// whose value the encoder cannot reproduce cheaply; then the records API's own path is used.
func newRecordEncoder(coll *core.Collection, extra ...outKey) (*recordEncoder, bool) {
	enc := &recordEncoder{coll: coll, idCol: -1, emailVisibility: -1}
	isAuth := coll.IsAuth()
	for _, f := range coll.Fields {
		name := f.GetName()
		if f.GetHidden() || (isAuth && (name == core.FieldNamePassword || name == core.FieldNameTokenKey)) {
			continue
		}
		fe := fieldEncoder{name: name, field: f}
		switch f.(type) {
		case *core.TextField, *core.EditorField, *core.EmailField, *core.URLField:
			fe.text = true
		case *core.DateField, *core.AutodateField:
			fe.date = true
		case *core.NumberField, *core.BoolField, *core.SelectField, *core.RelationField, *core.FileField, *core.JSONField:
		default:
			return nil, false
		}
		kind := outField
		if isAuth && name == core.FieldNameEmail {
			kind = outEmail
		}
		if name == core.FieldNameId {
			enc.idCol = len(enc.fields)
		}
		if isAuth && name == core.FieldNameEmailVisibility {
			enc.emailVisibility = len(enc.fields)
		}
		enc.keys = append(enc.keys, outKey{kind: kind, key: jsonKey(name), col: len(enc.fields)})
		enc.fields = append(enc.fields, fe)
	}
	if enc.idCol < 0 || (isAuth && enc.emailVisibility < 0) {
		return nil, false
	}
	enc.keys = append(enc.keys,
		outKey{kind: outCollectionId, key: jsonKey(core.FieldNameCollectionId)},
		outKey{kind: outCollectionName, key: jsonKey(core.FieldNameCollectionName)},
	)
	enc.keys = append(enc.keys, extra...)
	slices.SortStableFunc(enc.keys, func(a, b outKey) int { return compareStrings(a.key, b.key) })
	for i := 1; i < len(enc.keys); i++ {
		if enc.keys[i].key == enc.keys[i-1].key {
			return nil, false // a field shadows a helper key: leave it to PocketBase
		}
	}
	return enc, true
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func jsonKey(name string) string {
	return string(jsonenc.AppendString(nil, name)) + ":"
}

// itemExtras are the caller's values of a post's extra keys.
type itemExtras struct {
	author     *recordEncoder // the author's encoder and columns; nil columns: no author
	authorCols []sql.RawBytes
	authorMail bool // the author's email is visible to the caller (their own record)
	liked      int8 // -1: no liked key; 0, 1
}

// appendRecord appends the JSON object of one record whose selected columns are cols (as
// scanned: nil is NULL).
func (enc *recordEncoder) appendRecord(b []byte, cols []sql.RawBytes, x *itemExtras) ([]byte, error) {
	b = append(b, '{')
	first := true
	for _, k := range enc.keys {
		switch k.kind {
		case outEmail:
			if !x.authorMail && !enc.emailVisible(cols) {
				continue
			}
		case outLiked:
			if x.liked < 0 {
				continue
			}
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, k.key...)
		var err error
		switch k.kind {
		case outField, outEmail, outCollectionId, outCollectionName:
			b, err = enc.appendPlain(b, k, cols)
		case outExpand:
			b = append(b, '{')
			if x.author != nil && x.authorCols != nil {
				b = append(b, `"user":`...)
				b, err = x.author.appendRecord(b, x.authorCols, &itemExtras{authorMail: x.authorMail, liked: -1})
			}
			b = append(b, '}')
		case outLiked:
			b = strconv.AppendBool(b, x.liked == 1)
		}
		if err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

// appendPlain appends the value of a key that is a column or the collection's id or name.
func (enc *recordEncoder) appendPlain(b []byte, k outKey, cols []sql.RawBytes) ([]byte, error) {
	switch k.kind {
	case outCollectionId:
		return jsonenc.AppendString(b, enc.coll.Id), nil
	case outCollectionName:
		return jsonenc.AppendString(b, enc.coll.Name), nil
	}
	return enc.fields[k.col].appendValue(b, cols[k.col])
}

// emailVisible reports whether the auth record's emailVisibility is on.
func (enc *recordEncoder) emailVisible(cols []sql.RawBytes) bool {
	v, _ := enc.fields[enc.emailVisibility].field.PrepareValue(nil, nullable(cols[enc.emailVisibility]))
	on, _ := v.(bool)
	return on
}

func nullable(raw sql.RawBytes) any {
	if raw == nil {
		return nil
	}
	return string(raw)
}

// appendValue appends the JSON of one column's value, as the records API exports it.
func (fe *fieldEncoder) appendValue(b []byte, raw sql.RawBytes) ([]byte, error) {
	if fe.text {
		return jsonenc.AppendStringBytes(b, raw), nil
	}
	if fe.date && isCanonicalDate(raw) {
		b = append(b, '"')
		b = append(b, raw...)
		return append(b, '"'), nil
	}
	v, err := fe.field.PrepareValue(nil, nullable(raw))
	if err != nil {
		return b, err
	}
	return appendAny(b, v)
}

// isCanonicalDate reports whether raw is a datetime as types.DateTime prints it
// ("2006-01-02 15:04:05.000Z"), which PrepareValue would parse and print unchanged.
func isCanonicalDate(raw []byte) bool {
	const layout = "0000-00-00 00:00:00.000Z"
	if len(raw) != len(layout) {
		return false
	}
	for i := 0; i < len(layout); i++ {
		c := raw[i]
		if layout[i] == '0' {
			if c < '0' || c > '9' {
				return false
			}
		} else if c != layout[i] {
			return false
		}
	}
	// out-of-range values (month 13, February 30, ...) are left to the parser
	num := func(i int) int { return int(raw[i]-'0')*10 + int(raw[i+1]-'0') }
	year, month, day := num(0)*100+num(2), num(5), num(8)
	if month < 1 || month > 12 || day < 1 || num(11) > 23 || num(14) > 59 || num(17) > 59 {
		return false
	}
	days := [...]int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[month-1]
	if month == 2 && year%4 == 0 && (year%100 != 0 || year%400 == 0) {
		days = 29
	}
	return day <= days
}

// appendAny appends the JSON of a value that a field's PrepareValue returned.
func appendAny(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case string:
		return jsonenc.AppendString(b, v), nil
	case bool:
		return strconv.AppendBool(b, v), nil
	case float64:
		return appendFloat(b, v), nil
	case []string:
		if v == nil {
			return append(b, "null"...), nil
		}
		b = append(b, '[')
		for i, s := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonenc.AppendString(b, s)
		}
		return append(b, ']'), nil
	case types.DateTime:
		return jsonenc.AppendString(b, v.String()), nil
	case types.JSONRaw:
		if len(v) == 0 {
			return append(b, "null"...), nil
		}
		n := len(b)
		buf := bytes.NewBuffer(b)
		if err := json.Compact(buf, v); err == nil {
			return buf.Bytes(), nil
		}
		b = buf.Bytes()[:n]
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return b, err
	}
	return append(b, raw...), nil
}

// appendFloat formats f as encoding/json does (ES6 number formatting).
func appendFloat(b []byte, f float64) []byte {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return append(b, '0') // not a valid number field value; PocketBase would fail to encode it
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// itemTemplate is a post's JSON object without the values of its expand and liked keys,
// which are filled in per request (the author's JSON, the caller's like): the item cache
// (itemcache.go) keeps it.
type itemTemplate struct {
	json []byte
	// where the expand and the liked key go, in that order (keys are sorted: "expand" <
	// "liked"), and whether a comma goes before each; the key after a hole already has its
	// comma in json, as if the hole's key had been written
	at   [2]int
	lead [2]bool
}

// appendTemplate renders the template of a post whose selected columns are cols. ok is false
// when the encoder has no expand or no liked key.
func (enc *recordEncoder) appendTemplate(b []byte, cols []sql.RawBytes) (itemTemplate, bool, error) {
	start := len(b)
	var t itemTemplate
	holes := 0
	b = append(b, '{')
	first := true
	for _, k := range enc.keys {
		if k.kind == outEmail && !enc.emailVisible(cols) {
			continue // posts have no email; kept for symmetry with appendRecord
		}
		if k.kind == outExpand || k.kind == outLiked {
			want := 0
			if k.kind == outLiked {
				want = 1
			}
			if holes != want {
				return t, false, nil
			}
			t.at[holes], t.lead[holes] = len(b)-start, !first
			holes++
			first = false
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, k.key...)
		var err error
		if b, err = enc.appendPlain(b, k, cols); err != nil {
			return t, false, err
		}
	}
	if holes != 2 {
		return t, false, nil
	}
	b = append(b, '}')
	t.json = b[start:]
	return t, true, nil
}

// appendItem appends the post of template t with its expand ({"user": author}, or {} when
// author is nil) and liked values: the bytes appendRecord writes for the same columns.
func appendItem(b []byte, t *itemTemplate, author []byte, liked bool) []byte {
	b = append(b, t.json[:t.at[0]]...)
	if t.lead[0] {
		b = append(b, ',')
	}
	b = append(b, `"expand":{`...)
	if author != nil {
		b = append(b, `"user":`...)
		b = append(b, author...)
	}
	b = append(b, '}')
	b = append(b, t.json[t.at[0]:t.at[1]]...)
	if t.lead[1] {
		b = append(b, ',')
	}
	b = append(b, `"liked":`...)
	b = strconv.AppendBool(b, liked)
	return append(b, t.json[t.at[1]:]...)
}
