// Package jsonenc writes JSON by appending to byte slices, for the hot paths (feed pages, chat
// frames) that write records themselves instead of going through encoding/json: the output is
// byte for byte what PocketBase's encoder (encoding/json/v2, as Record.MarshalJSON and the
// router's JSON responses call it) writes for the same values.
package jsonenc

import (
	"unicode/utf8"
	"unsafe"
)

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string, as PocketBase's encoder writes it (no HTML
// escaping; invalid UTF-8 replaced by U+FFFD).
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			b = appendEscaped(b, c)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, "\ufffd"...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// AppendStringBytes is AppendString for bytes read in place (a column's sql.RawBytes):
// AppendString keeps no reference to the string, so viewing the bytes as one is safe and saves
// a copy per value.
func AppendStringBytes(b []byte, s []byte) []byte {
	return AppendString(b, unsafe.String(unsafe.SliceData(s), len(s)))
}

func appendEscaped(b []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(b, '\\', c)
	case '\b':
		return append(b, '\\', 'b')
	case '\f':
		return append(b, '\\', 'f')
	case '\n':
		return append(b, '\\', 'n')
	case '\r':
		return append(b, '\\', 'r')
	case '\t':
		return append(b, '\\', 't')
	}
	return append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
}
