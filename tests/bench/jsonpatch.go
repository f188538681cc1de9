package main

// A small RFC 6902 applier (add, remove, replace, test) for checking that the
// peer's patch and goinject's produce the same pod.

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

func pointerTokens(p string) ([]string, error) {
	if p == "" {
		return nil, nil
	}
	if p[0] != '/' {
		return nil, fmt.Errorf("pointer %q does not start with /", p)
	}
	parts := strings.Split(p[1:], "/")
	for i, s := range parts {
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
	}
	return parts, nil
}

// setAt replaces, adds or removes at tokens inside doc and returns the new doc.
func setAt(doc any, tokens []string, op string, value any) (any, error) {
	if len(tokens) == 0 {
		if op == "remove" {
			return nil, fmt.Errorf("cannot remove the root")
		}
		return value, nil
	}
	tok, rest := tokens[0], tokens[1:]
	switch d := doc.(type) {
	case map[string]any:
		if len(rest) == 0 {
			_, exists := d[tok]
			switch op {
			case "add":
				d[tok] = value
			case "replace":
				if !exists {
					return nil, fmt.Errorf("replace: no member %q", tok)
				}
				d[tok] = value
			case "remove":
				if !exists {
					return nil, fmt.Errorf("remove: no member %q", tok)
				}
				delete(d, tok)
			}
			return d, nil
		}
		child, ok := d[tok]
		if !ok {
			return nil, fmt.Errorf("no member %q", tok)
		}
		nc, err := setAt(child, rest, op, value)
		if err != nil {
			return nil, err
		}
		d[tok] = nc
		return d, nil
	case []any:
		var i int
		if tok == "-" && len(rest) == 0 && op == "add" {
			i = len(d)
		} else {
			n, err := strconv.Atoi(tok)
			if err != nil || n < 0 || n > len(d) || (n == len(d) && !(op == "add" && len(rest) == 0)) {
				return nil, fmt.Errorf("bad index %q", tok)
			}
			i = n
		}
		if len(rest) == 0 {
			switch op {
			case "add":
				d = append(d, nil)
				copy(d[i+1:], d[i:])
				d[i] = value
			case "replace":
				d[i] = value
			case "remove":
				d = append(d[:i], d[i+1:]...)
			}
			return d, nil
		}
		nc, err := setAt(d[i], rest, op, value)
		if err != nil {
			return nil, err
		}
		d[i] = nc
		return d, nil
	}
	return nil, fmt.Errorf("%q: not a container", tok)
}

func getAt(doc any, tokens []string) (any, bool) {
	for _, tok := range tokens {
		switch d := doc.(type) {
		case map[string]any:
			v, ok := d[tok]
			if !ok {
				return nil, false
			}
			doc = v
		case []any:
			n, err := strconv.Atoi(tok)
			if err != nil || n < 0 || n >= len(d) {
				return nil, false
			}
			doc = d[n]
		default:
			return nil, false
		}
	}
	return doc, true
}

// applyPatch applies a JSON patch (bytes) to doc (bytes) and returns the decoded result.
func applyPatch(docBytes, patchBytes []byte) (any, error) {
	var doc any
	if err := json.Unmarshal(docBytes, &doc); err != nil {
		return nil, err
	}
	var ops []struct {
		Op    string          `json:"op"`
		Path  string          `json:"path"`
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(patchBytes, &ops); err != nil {
		return nil, err
	}
	for i, op := range ops {
		tokens, err := pointerTokens(op.Path)
		if err != nil {
			return nil, err
		}
		var value any
		if op.Value != nil {
			if err := json.Unmarshal(op.Value, &value); err != nil {
				return nil, err
			}
		}
		switch op.Op {
		case "add", "remove", "replace":
			doc, err = setAt(doc, tokens, op.Op, value)
		case "test":
			got, ok := getAt(doc, tokens)
			if !ok || !reflect.DeepEqual(got, value) {
				err = fmt.Errorf("test failed")
			}
		default:
			err = fmt.Errorf("unsupported op %q", op.Op)
		}
		if err != nil {
			return nil, fmt.Errorf("operation %d (%s %s): %w", i, op.Op, op.Path, err)
		}
	}
	return doc, nil
}

// firstDifference names a path where a and b differ, or "" when they are equal.
func firstDifference(a, b any, at string) string {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			return at
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok {
				return at + "/" + k + " (only in the first)"
			}
			if d := firstDifference(v, w, at+"/"+k); d != "" {
				return d
			}
		}
		for k := range y {
			if _, ok := x[k]; !ok {
				return at + "/" + k + " (only in the second)"
			}
		}
		return ""
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return at + " (array lengths differ)"
		}
		for i := range x {
			if d := firstDifference(x[i], y[i], fmt.Sprintf("%s/%d", at, i)); d != "" {
				return d
			}
		}
		return ""
	}
	if !reflect.DeepEqual(a, b) {
		return fmt.Sprintf("%s (%v != %v)", at, a, b)
	}
	return ""
}
