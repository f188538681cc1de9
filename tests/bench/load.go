package main

// The load generator: HTTP/1.1 over TLS 1.3 keep-alive connections, written
// by hand on crypto/tls so the client spends as little CPU per request as it
// can (the server under test has the other core). Each request is a
// prebuilt POST /mutate with Content-Type: application/json; each answer is
// checked for status 200 and the echoed uid.

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

type target struct {
	addr string
	tls  *tls.Config
}

func newTarget(addr string, pool *x509.CertPool) *target {
	return &target{addr: addr, tls: &tls.Config{
		RootCAs: pool, ServerName: "127.0.0.1",
		MinVersion: tls.VersionTLS13, MaxVersion: tls.VersionTLS13,
		ClientSessionCache: tls.NewLRUClientSessionCache(64),
	}}
}

// request is one prebuilt request and the uid its answer must echo.
type request struct {
	raw []byte
	uid []byte
}

func buildRequests(path string, bodies [][]byte, uids []string) []request {
	out := make([]request, len(bodies))
	for i, b := range bodies {
		var head bytes.Buffer
		fmt.Fprintf(&head, "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: %d\r\n\r\n", path, len(b))
		out[i] = request{raw: append(head.Bytes(), b...), uid: []byte(`"` + uids[i] + `"`)}
	}
	return out
}

// conn is one keep-alive client connection.
type conn struct {
	t   *target
	c   *tls.Conn
	r   *bufio.Reader
	buf []byte
}

func (k *conn) dial() error {
	d := net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(&d, "tcp", k.t.addr, k.t.tls)
	if err != nil {
		return err
	}
	k.c = c
	k.r = bufio.NewReaderSize(c, 64<<10)
	return nil
}

func (k *conn) close() {
	if k.c != nil {
		k.c.Close()
		k.c = nil
	}
}

var errStatus = errors.New("unexpected status")

// roundTrip sends req and reads one answer; the connection is reopened when
// the server asked to close it.
func (k *conn) roundTrip(req *request) (int, []byte, error) {
	if k.c == nil {
		if err := k.dial(); err != nil {
			return 0, nil, err
		}
	}
	k.c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := k.c.Write(req.raw); err != nil {
		k.close()
		return 0, nil, err
	}
	status, body, closeAfter, err := k.readResponse()
	if err != nil || closeAfter {
		k.close()
	}
	return status, body, err
}

func (k *conn) readResponse() (status int, body []byte, closeAfter bool, err error) {
	line, err := k.r.ReadSlice('\n')
	if err != nil {
		return 0, nil, false, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, nil, false, fmt.Errorf("bad status line %q", line)
	}
	status, _ = strconv.Atoi(string(line[9:12]))
	length := -1
	chunked := false
	for {
		h, err := k.r.ReadSlice('\n')
		if err != nil {
			return status, nil, false, err
		}
		if len(h) <= 2 {
			break
		}
		if i := bytes.IndexByte(h, ':'); i > 0 {
			name := h[:i]
			value := bytes.TrimSpace(h[i+1:])
			switch {
			case asciiEqualFold(name, "Content-Length"):
				length, _ = strconv.Atoi(string(value))
			case asciiEqualFold(name, "Connection"):
				closeAfter = asciiEqualFold(value, "close")
			case asciiEqualFold(name, "Transfer-Encoding"):
				chunked = asciiEqualFold(value, "chunked")
			}
		}
	}
	if chunked {
		body, err := k.readChunked()
		return status, body, closeAfter || err != nil, err
	}
	if length < 0 {
		return status, nil, true, fmt.Errorf("answer without Content-Length")
	}
	if cap(k.buf) < length {
		k.buf = make([]byte, length)
	}
	k.buf = k.buf[:length]
	if _, err := io.ReadFull(k.r, k.buf); err != nil {
		return status, nil, true, err
	}
	return status, k.buf, closeAfter, nil
}

// readChunked reads a chunked body (Go's net/http sends larger answers so).
func (k *conn) readChunked() ([]byte, error) {
	k.buf = k.buf[:0]
	for {
		line, err := k.r.ReadSlice('\n')
		if err != nil {
			return nil, err
		}
		size, err := strconv.ParseInt(string(bytes.TrimSpace(bytes.SplitN(line, []byte(";"), 2)[0])), 16, 64)
		if err != nil || size < 0 {
			return nil, fmt.Errorf("bad chunk size %q", line)
		}
		if size == 0 {
			for { // trailers, then the empty line
				line, err := k.r.ReadSlice('\n')
				if err != nil {
					return nil, err
				}
				if len(line) <= 2 {
					return k.buf, nil
				}
			}
		}
		n := len(k.buf)
		k.buf = append(k.buf, make([]byte, size)...)
		if _, err := io.ReadFull(k.r, k.buf[n:]); err != nil {
			return nil, err
		}
		if _, err := k.r.Discard(2); err != nil {
			return nil, err
		}
	}
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		x, y := b[i]|0x20, s[i]|0x20
		if x != y {
			return false
		}
	}
	return true
}

func check(req *request, status int, body []byte, err error) error {
	if err != nil {
		return err
	}
	if status != 200 {
		return fmt.Errorf("%w %d: %.200s", errStatus, status, body)
	}
	if !bytes.Contains(body, req.uid) {
		return fmt.Errorf("answer does not echo uid %s: %.200s", req.uid, body)
	}
	return nil
}

type result struct {
	count     int
	errors    int
	firstErr  error
	elapsed   time.Duration
	latencies []time.Duration
	rate      float64 // offered rate (open loop), 0 for closed loop
}

func (r *result) rps() float64 { return float64(r.count) / r.elapsed.Seconds() }

func (r *result) percentile(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	i := int(p * float64(len(r.latencies)-1))
	return r.latencies[i]
}

func merge(parts []*result, elapsed time.Duration) *result {
	out := &result{elapsed: elapsed}
	for _, p := range parts {
		out.count += p.count
		out.errors += p.errors
		if out.firstErr == nil {
			out.firstErr = p.firstErr
		}
		out.latencies = append(out.latencies, p.latencies...)
	}
	sort.Slice(out.latencies, func(i, j int) bool { return out.latencies[i] < out.latencies[j] })
	return out
}

// saturate runs conns closed-loop clients for d: each sends its next request
// as soon as the last answer is in.
func saturate(t *target, reqs []request, conns int, d time.Duration) *result {
	parts := make([]*result, conns)
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for i := 0; i < conns; i++ {
		parts[i] = &result{latencies: make([]time.Duration, 0, 1<<14)}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			k := &conn{t: t}
			defer k.close()
			p := parts[i]
			for n := i; ; n++ {
				now := time.Now()
				if now.After(deadline) {
					return
				}
				req := &reqs[n%len(reqs)]
				status, body, err := k.roundTrip(req)
				if err := check(req, status, body, err); err != nil {
					p.errors++
					if p.firstErr == nil {
						p.firstErr = err
					}
					continue
				}
				p.count++
				p.latencies = append(p.latencies, time.Since(now))
			}
		}(i)
	}
	wg.Wait()
	return merge(parts, time.Since(start))
}

// atRate offers rate requests per second for d (open loop) over conns
// connections. Latency counts from when a request was due, so a server that
// falls behind is charged for the queueing it causes.
func atRate(t *target, reqs []request, conns int, rate float64, d time.Duration) *result {
	total := int(rate * d.Seconds())
	if total < 1 {
		total = 1
	}
	interval := time.Duration(float64(time.Second) / rate)
	due := make(chan time.Time, total)
	parts := make([]*result, conns)
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < conns; i++ {
		parts[i] = &result{latencies: make([]time.Duration, 0, total/conns+1)}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			k := &conn{t: t}
			defer k.close()
			p := parts[i]
			for at := range due {
				req := &reqs[int(next.Add(1))%len(reqs)]
				status, body, err := k.roundTrip(req)
				if err := check(req, status, body, err); err != nil {
					p.errors++
					if p.firstErr == nil {
						p.firstErr = err
					}
					continue
				}
				p.count++
				p.latencies = append(p.latencies, time.Since(at))
			}
		}(i)
	}
	for n := 0; n < total; n++ {
		at := start.Add(time.Duration(n) * interval)
		if wait := time.Until(at); wait > 0 {
			time.Sleep(wait)
		}
		due <- at
	}
	close(due)
	wg.Wait()
	r := merge(parts, time.Since(start))
	r.rate = rate
	return r
}
