package protocol

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// DescribeJSON says what is wrong with JSON that failed to decode, in the words of the JSON a
// client sent, never in the Go types it was decoded into: "channels must be an array, not a
// string", "not valid JSON at byte 12".
func DescribeJSON(err error) string {
	var typ *json.UnmarshalTypeError
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &typ):
		what := "the value"
		if typ.Field != "" {
			what = typ.Field
		}
		return fmt.Sprintf("%s must be %s, not %s", what, jsonKind(typ.Type), article(typ.Value))
	case errors.Is(err, io.ErrUnexpectedEOF), err != nil && strings.Contains(err.Error(), "unexpected end of JSON input"):
		return "not valid JSON: it ends too soon"
	case errors.As(err, &syn):
		return fmt.Sprintf("not valid JSON at byte %d", syn.Offset)
	case err != nil:
		return "not valid JSON"
	}
	return ""
}

// jsonKind names the JSON a Go type decodes from.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && t.Name() == "RawMessage" {
			return "JSON"
		}
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Interface:
		return "JSON"
	}
	return "a number"
}

// article puts "a" or "an" before the JSON kind json reports ("string", "number", "array").
func article(kind string) string {
	switch {
	case kind == "":
		return "that"
	case strings.ContainsAny(kind[:1], "aeiou"):
		return "an " + kind
	}
	return "a " + kind
}
