package faults

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// expensiveReview is an AdmissionReview of a pod built to cost the most memory per byte
// of request: many containers, or one container with a very long argv. Each is just
// under the 3 MiB body limit.
func expensiveReview(uid string, manyContainers bool) []byte {
	var spec string
	if manyContainers {
		var b strings.Builder
		for i := 0; b.Len() < 3<<20-4096; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"name":"c%d","image":"a","command":["/a"]}`, i)
		}
		spec = `{"containers":[` + b.String() + `]}`
	} else {
		args := strings.Repeat(`"a",`, (3<<20-4096)/4)
		spec = `{"containers":[{"name":"c","image":"a","command":["/a"],"args":[` + args + `"a"]}]}`
	}
	return []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"` + uid +
		`","kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},` +
		`"namespace":"default","operation":"CREATE","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x",` +
		`"annotations":{"goinject.io/static-go":"true","goinject.io/shell":"/bin/sh"}},"spec":` + spec + `}}}`)
}

// A review's values are bounded (ARENA_MAX): pods built to be expensive are allowed
// unchanged with a warning, one per event loop at a time keeps the server well under the
// chart's limit, and ordinary reviews are patched as before.
func TestExpensivePodsStayWithinMemory(t *testing.T) {
	dir := t.TempDir()
	certgen(t, dir)
	p := pool(t, filepath.Join(dir, "ca.crt"))
	s := startServer(t, dir, "--threads", "2")
	c := &http.Client{Transport: transport(p, func() string { return s.addr }), Timeout: 30 * time.Second}
	if err := review(c, "https://"+s.addr, "warm-up"); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	peak := peakRSS(s, stop)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for client := 0; client < 4; client++ {
		wg.Add(1)
		go func(client int) {
			defer wg.Done()
			for i := 0; i < 3; i++ {
				uid := fmt.Sprintf("expensive-%d-%d", client, i)
				if err := expensiveAnswer(c, "https://"+s.addr, uid, expensiveReview(uid, client%2 == 0)); err != nil {
					errs <- err
					return
				}
			}
		}(client)
	}
	wg.Wait()
	close(stop)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	rssPeak := <-peak
	summary(t, "expensive pods: 12 reviews of 3 MiB (70,000-odd containers, or 780,000-odd arguments), 4 clients, 2 event loops: RSS peak %d KiB", rssPeak)
	if rssPeak > chartMemoryLimitKiB*3/4 {
		t.Errorf("RSS peaked at %d KiB, above 3/4 of the chart's limit", rssPeak)
	}
	if err := review(c, "https://"+s.addr, "after"); err != nil {
		t.Errorf("an ordinary review after the expensive ones: %v", err)
	}
}

// expensiveAnswer posts body and checks the fail-open answer: 200, allowed, the uid, no
// patch, and the warning that says why.
func expensiveAnswer(c *http.Client, base, uid string, body []byte) error {
	a, data, err := postReview(c, base, body)
	if err != nil {
		return fmt.Errorf("%s: %v", uid, err)
	}
	if a.UID != uid || !a.Allowed || a.Patch != "" || len(a.Warnings) != 1 ||
		!strings.Contains(a.Warnings[0], "pod admitted unchanged: the review needs more than 32 MiB") {
		return fmt.Errorf("%s: %.300s", uid, data)
	}
	return nil
}
