package main

// The control API and the state it changes. Every listener serves it, with
// no authentication, under /_control/ (JSON in, JSON out):
//
//	PUT    /_control/auth    {"mode":"none"|"bearer"|"basic","user":"u","password":"p","tokenTTL":60}
//	GET    /_control/auth    the current settings
//	PUT    /_control/faults  [{"match":"regexp","method":"GET","kind":"status","status":429,...}, ...]
//	GET    /_control/faults  the faults in force, with what is left of each count
//	GET    /_control/log     every request since the last reset (control requests excluded)
//	DELETE /_control/log     empties the log
//
// A change of the auth settings also forgets every token issued before it.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"regexp"
	"sync"
	"time"
)

// Auth modes.
const (
	authNone   = "none"
	authBearer = "bearer"
	authBasic  = "basic"
)

// authConfig is the body of PUT /_control/auth.
type authConfig struct {
	Mode     string `json:"mode"`
	User     string `json:"user,omitempty"`
	Password string `json:"password,omitempty"`
	// TokenTTL is the lifetime of a Bearer token in seconds (default 60).
	TokenTTL int `json:"tokenTTL,omitempty"`
}

// Fault kinds.
const (
	faultDelay    = "delay"    // sleep delayMs, then serve normally
	faultStatus   = "status"   // answer status with a distribution-spec error body
	faultRedirect = "redirect" // 307 to the same path on the "other" listener
	faultTamper   = "tamper"   // serve the body with one byte changed
	faultHang     = "hang"     // never answer (until the client goes, or 60 s)
)

// fault is one element of the body of PUT /_control/faults. The first fault
// whose match, method and listener fit a request, and whose count is not used
// up, applies to it; at most one fault applies to a request. Faults apply
// only to requests that passed authentication (a 401 consumes no count), so
// that they model the registry's behaviour towards a legitimate client.
type fault struct {
	// Match is a Go regexp matched against the URL path (unanchored).
	Match string `json:"match"`
	// Method restricts the fault to one method ("" for any).
	Method string `json:"method,omitempty"`
	Kind   string `json:"kind"`
	// DelayMs is the sleep of a delay fault.
	DelayMs int `json:"delayMs,omitempty"`
	// Status is the answer of a status fault (429, 500, 503, 404...).
	Status int `json:"status,omitempty"`
	// RetryAfter, when set, is sent as the Retry-After header of a status fault.
	RetryAfter string `json:"retryAfter,omitempty"`
	// Count applies the fault to the first Count matching requests; 0 = always.
	Count int `json:"count,omitempty"`
	// Listener restricts the fault to one listener ("" for any). A redirect
	// never applies on "other".
	Listener string `json:"listener,omitempty"`
	// Offset is the body offset of the byte a tamper fault changes; negative
	// or absent: the middle of the body.
	Offset *int64 `json:"offset,omitempty"`

	// Left is what remains of Count (reported by GET; ignored in PUT).
	Left int `json:"left,omitempty"`

	re *regexp.Regexp
}

// logEntry is one request in GET /_control/log.
type logEntry struct {
	Time       string `json:"time"`
	Listener   string `json:"listener"`
	Method     string `json:"method"`
	Path       string `json:"path"`
	Query      string `json:"query"`
	Status     int    `json:"status"`
	Auth       string `json:"auth"`  // the scheme of the Authorization header that arrived
	Bytes      int64  `json:"bytes"` // response body bytes written
	DurationMs int64  `json:"durationMs"`
	Fault      string `json:"fault,omitempty"` // the kind of the fault applied, if any
}

// maxLogEntries bounds the request log; the oldest entries go first.
const maxLogEntries = 100000

// token is an issued Bearer token.
type token struct {
	repos   map[string]bool // repositories named in its scope
	catalog bool            // registry:catalog:* was in its scope
	expires time.Time
}

// state is everything the listeners share.
type state struct {
	mainAddr, otherAddr string
	registry            http.Handler
	verbose             *log.Logger
	stopping            chan struct{} // closed at shutdown: releases hanging handlers

	mu     sync.Mutex
	auth   authConfig
	tokens map[string]token
	faults []*fault
	log    []logEntry
}

func newState(mainAddr, otherAddr string) *state {
	return &state{
		mainAddr:  mainAddr,
		otherAddr: otherAddr,
		stopping:  make(chan struct{}),
		auth:      authConfig{Mode: authNone},
		tokens:    map[string]token{},
	}
}

// control serves /_control/*.
func (s *state) control(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	switch r.Method + " " + r.URL.Path {
	case "PUT /_control/auth":
		var c authConfig
		if err := strictUnmarshal(body, &c); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		switch c.Mode {
		case "":
			c.Mode = authNone
		case authNone, authBearer:
		case authBasic:
			if c.User == "" {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": "mode basic needs a user"})
				return
			}
		default:
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("unknown mode %q", c.Mode)})
			return
		}
		if c.TokenTTL <= 0 {
			c.TokenTTL = 60
		}
		s.mu.Lock()
		s.auth = c
		s.tokens = map[string]token{}
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, c)
	case "GET /_control/auth":
		s.mu.Lock()
		c := s.auth
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, c)
	case "PUT /_control/faults":
		var fs []*fault
		if err := strictUnmarshal(body, &fs); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		for i, f := range fs {
			if err := f.compile(); err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("fault %d: %v", i, err)})
				return
			}
		}
		s.mu.Lock()
		s.faults = fs
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, s.faultsSnapshot())
	case "GET /_control/faults":
		writeJSON(w, http.StatusOK, s.faultsSnapshot())
	case "GET /_control/log":
		s.mu.Lock()
		entries := append([]logEntry{}, s.log...)
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, entries)
	case "DELETE /_control/log":
		s.mu.Lock()
		s.log = nil
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, []logEntry{})
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such control endpoint: " + r.Method + " " + r.URL.Path})
	}
}

// compile checks a fault from PUT /_control/faults and prepares it.
func (f *fault) compile() error {
	re, err := regexp.Compile(f.Match)
	if err != nil {
		return err
	}
	f.re = re
	switch f.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPost, http.MethodPatch, http.MethodDelete:
	default:
		return fmt.Errorf("unknown method %q", f.Method)
	}
	switch f.Listener {
	case "", listenerMain, listenerOther, listenerPlain:
	default:
		return fmt.Errorf("unknown listener %q", f.Listener)
	}
	switch f.Kind {
	case faultDelay:
		if f.DelayMs <= 0 {
			return errors.New("delay needs delayMs > 0")
		}
	case faultStatus:
		if f.Status < 100 || f.Status > 599 {
			return errors.New("status needs a status between 100 and 599")
		}
	case faultRedirect, faultTamper, faultHang:
	default:
		return fmt.Errorf("unknown kind %q", f.Kind)
	}
	if f.Count < 0 {
		return errors.New("count must not be negative")
	}
	f.Left = f.Count
	return nil
}

func (s *state) faultsSnapshot() []fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]fault, 0, len(s.faults))
	for _, f := range s.faults {
		out = append(out, *f)
	}
	return out
}

// takeFault returns a copy of the fault that applies to r on listener, and
// uses up one of its count, or nil.
func (s *state) takeFault(listener string, r *http.Request) *fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.faults {
		if f.Count > 0 && f.Left == 0 {
			continue
		}
		if f.Method != "" && f.Method != r.Method {
			continue
		}
		if f.Listener != "" && f.Listener != listener {
			continue
		}
		if f.Kind == faultRedirect && listener == listenerOther {
			continue
		}
		if !f.re.MatchString(r.URL.Path) {
			continue
		}
		if f.Count > 0 {
			f.Left--
		}
		c := *f
		return &c
	}
	return nil
}

func (s *state) record(e logEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.log) >= maxLogEntries {
		s.log = append(s.log[:0], s.log[1:]...)
	}
	s.log = append(s.log, e)
}

// strictUnmarshal decodes JSON and refuses unknown fields, so that a typo in
// a test's control request fails loudly instead of being ignored.
func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		status, data = http.StatusInternalServerError, []byte(`{"error":"encoding the answer"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(data, '\n'))
}
