package suite

// A registry that lies, is down, hangs or rate limits; plain HTTP; mirrors.

import (
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

// notWrapped: the container keeps its command and args.
func notWrapped(t *testing.T, a *answer) {
	t.Helper()
	if a.command() != nil || a.args() != nil {
		t.Errorf("wrapped without facts: command %q args %q", a.command(), a.args())
	}
}

// Test 7: a blob whose bytes do not match its digest is refused.
func TestTamperedBlob(t *testing.T) {
	reg := sharedRegistry(t)
	g := startGoinject(t, regConfig(reg, 20000, nil))
	var layerWarning string

	t.Run("layer", func(t *testing.T) {
		layers := reg.layerDigests(t, "goinject/distroless", "test")
		reg.setFaults(t, fault{Match: "/blobs/" + layers[len(layers)-1] + "$", Method: "GET", Kind: "tamper"})
		reg.clearLog(t)
		a := g.review(t, newPod(reg.Main+"/goinject/distroless:test"))
		w := a.warningWith(`container "app"`, "could not be read from its registry", "does not match its digest")
		if w == "" {
			t.Errorf("no \"does not match its digest\" warning among %q", a.Warnings)
		}
		notWrapped(t, a)
		if s := a.registryState(t); s != "failed" {
			t.Errorf("facts.app.registry %q, want failed", s)
		}
		if tampered := selectLog(reg.log(t), func(e logEntry) bool { return e.Fault == "tamper" }); len(tampered) != 1 {
			t.Errorf("%d tampered answers, want 1", len(tampered))
		}
		t.Logf("warning: %s", w)
		layerWarning = w
	})
	t.Run("the warning keeps the whole reason", func(t *testing.T) {
		// The lookup's log line has "... (sha256:xxxxxxxxxxxx... received)"; the
		// warning has room for it (256 characters) but cuts it at 70.
		if layerWarning == "" {
			t.Skip("no warning from the layer subtest")
		}
		if !strings.Contains(layerWarning, "received)") {
			t.Errorf("BUG: the warning cuts the reason mid-word (want it to end in \"received)\"; %d characters): %s", len(layerWarning), layerWarning)
		}
	})
	t.Run("config blob: the reason names the config", func(t *testing.T) {
		cfg, _ := reg.manifest(t, "goinject/musl", "test")["config"].(map[string]any)
		digest, _ := cfg["digest"].(string)
		reg.setFaults(t, fault{Match: "/blobs/" + digest + "$", Method: "GET", Kind: "tamper"})
		a := g.review(t, newPod(reg.Main+"/goinject/musl:test"))
		w := a.warningWith(`container "app"`, "does not match its digest")
		if w == "" {
			t.Fatalf("no \"does not match its digest\" warning among %q", a.Warnings)
		}
		notWrapped(t, a)
		if !strings.Contains(w, "(config: ") {
			t.Errorf("BUG: the tampered config blob is reported as %q; want the reason to name the config", w)
		}
	})
}

// Test 8: a registry that is down, hangs or fails answers every review within
// the budget, allowed, with a warning; never an HTTP error, never a denial.
func TestRegistryDown(t *testing.T) {
	const budget = 1000
	limit := (budget + 700) * time.Millisecond

	t.Run("closed port", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		g := startGoinject(t, regConfig(nil, budget, nil))
		for i := 0; i < 2; i++ {
			a := g.review(t, newPod(addr+"/goinject/shell:test"))
			if a.Elapsed > limit {
				t.Errorf("review %d answered in %v, want under %v", i, a.Elapsed, limit)
			}
			if a.warningWith(`container "app"`, "could not be read from its registry") == "" {
				t.Errorf("review %d: no failure warning among %q", i, a.Warnings)
			}
			notWrapped(t, a)
			t.Logf("review %d: %d ms, warnings %q", i, a.Elapsed.Milliseconds(), a.Warnings)
		}
	})

	t.Run("hang", func(t *testing.T) {
		reg := sharedRegistry(t)
		reg.setFaults(t, fault{Match: "/manifests/", Method: "HEAD", Kind: "hang"})
		g := startGoinject(t, regConfig(reg, budget, nil))
		for i := 0; i < 2; i++ {
			a := g.review(t, newPod(reg.Main+"/goinject/distroless:test"))
			if a.Elapsed > limit {
				t.Errorf("review %d answered in %v, want under %v", i, a.Elapsed, limit)
			}
			if a.warningWith(`container "app"`, "are not known yet") == "" {
				t.Errorf("review %d: no \"are not known yet\" warning among %q", i, a.Warnings)
			}
			if s := a.registryState(t); s != "pending" {
				t.Errorf("review %d: facts.app.registry %q, want pending", i, s)
			}
			notWrapped(t, a)
			t.Logf("review %d: %d ms", i, a.Elapsed.Milliseconds())
		}
		// Both reviews waited for the one lookup. The registry logs a request
		// when it ends: stop goinject, which drops the hanging one.
		stopped := time.Now()
		g.stop()
		t.Logf("goinject stopped in %v with a lookup hanging", time.Since(stopped).Round(time.Millisecond))
		var heads []logEntry
		for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if heads = selectLog(reg.log(t), isManifestHead); len(heads) > 0 {
				break
			}
		}
		if len(heads) != 1 || heads[0].Fault != "hang" {
			t.Errorf("manifest HEADs %v, want 1 that hung (the second review joins the hanging lookup)", heads)
		}
	})

	t.Run("503", func(t *testing.T) {
		reg := sharedRegistry(t)
		reg.setFaults(t, fault{Match: "/manifests/", Method: "HEAD", Kind: "status", Status: 503})
		g := startGoinject(t, regConfig(reg, budget, nil))
		a := g.review(t, newPod(reg.Main+"/goinject/distroless:test"))
		w := a.warningWith(`container "app"`, "could not be read from its registry", "503")
		if w == "" {
			t.Errorf("no warning naming the 503 among %q", a.Warnings)
		}
		notWrapped(t, a)
		// 2 s of backoff: the next review sends nothing and repeats the warning.
		reg.clearLog(t)
		again := g.review(t, newPod(reg.Main+"/goinject/distroless:test"))
		if entries := reg.log(t); len(entries) != 0 {
			t.Errorf("a review during the backoff sent requests:%s", logText(entries))
		}
		if !slices.Contains(again.Warnings, w) {
			t.Errorf("warnings %q do not repeat %q", again.Warnings, w)
		}
	})
}

// Test 9: 429 with Retry-After: 2: no request before 2 s, a new lookup after.
func TestRateLimited(t *testing.T) {
	reg := sharedRegistry(t)
	reg.setFaults(t, fault{Match: "/manifests/", Method: "HEAD", Kind: "status", Status: 429, RetryAfter: "2"})
	g := startGoinject(t, regConfig(reg, 20000, nil))
	image := reg.Main + "/goinject/distroless:test"

	a := g.review(t, newPod(image))
	limited := time.Now()
	w := a.warningWith(`container "app"`, "could not be read from its registry", "rate limited")
	if w == "" {
		t.Fatalf("no \"rate limited\" warning among %q", a.Warnings)
	}
	notWrapped(t, a)
	t.Logf("warning: %s", w)

	reg.clearLog(t)
	again := g.review(t, newPod(image))
	if time.Since(limited) >= 2*time.Second {
		t.Fatalf("the second review came too late to test the Retry-After")
	}
	if entries := reg.log(t); len(entries) != 0 {
		t.Errorf("a review within Retry-After sent requests:%s", logText(entries))
	}
	if !slices.Contains(again.Warnings, w) {
		t.Errorf("warnings %q do not repeat %q", again.Warnings, w)
	}

	reg.setFaults(t)
	time.Sleep(time.Until(limited.Add(2200 * time.Millisecond)))
	reg.clearLog(t)
	after := g.review(t, newPod(image))
	if heads := selectLog(reg.log(t), isManifestHead); len(heads) != 1 {
		t.Errorf("after Retry-After: %d manifest HEADs, want 1", len(heads))
	}
	checkExpectation(t, after, tiniDistroless)
	checkFetched(t, after, "fetched", reg.seed["goinject/distroless:test"])

	ms := g.metrics(t)
	if ms.sum("goinject_registry_requests_total", "kind", "manifest-head", "code", "429") != 1 ||
		ms.sum("goinject_facts_lookups_total", "result", "rate-limited") != 2 {
		t.Errorf("metrics: want one manifest-head 429 and two rate-limited lookups:\n%s", ms.dump("goinject_registry_requests")+"\n"+ms.dump("goinject_facts_lookups"))
	}
}

// Test 11: plain HTTP only for the hosts listed in insecureHosts.
func TestPlainHTTP(t *testing.T) {
	reg := sharedRegistry(t)
	image := reg.Plain + "/goinject/distroless:test"

	t.Run("listed", func(t *testing.T) {
		g := startGoinject(t, regConfig(reg, 20000, map[string]any{"insecureHosts": []string{reg.Plain}}))
		reg.clearLog(t)
		a := g.review(t, newPod(image))
		checkExpectation(t, a, tiniDistroless)
		checkFetched(t, a, "fetched", reg.seed["goinject/distroless:test"])
		entries := reg.log(t)
		if len(entries) == 0 {
			t.Fatal("no request reached the registry")
		}
		for _, e := range entries {
			if e.Listener != "plain" {
				t.Errorf("%s: want every request on the plain listener", e)
			}
		}
	})
	t.Run("not listed", func(t *testing.T) {
		g := startGoinject(t, regConfig(reg, 20000, map[string]any{"insecureHosts": []string{"127.0.0.1:1"}}))
		reg.clearLog(t)
		a := g.review(t, newPod(image))
		w := a.warningWith(`container "app"`, "could not be read from its registry")
		if w == "" {
			t.Errorf("no failure warning among %q", a.Warnings)
		}
		notWrapped(t, a)
		if served := selectLog(reg.log(t), func(e logEntry) bool { return e.Status == 200 }); len(served) != 0 {
			t.Errorf("plain HTTP was used for a host not listed:%s", logText(served))
		}
		t.Logf("warning: %s", w)
	})
}

// Test 12: a mirror serves the requests for its registry.
func TestMirror(t *testing.T) {
	reg := sharedRegistry(t)
	reg.push(t, "distroless", "library/distroless:test")
	g := startGoinject(t, regConfig(reg, 20000, map[string]any{"mirrors": map[string]string{
		"mirror.invalid:5000": reg.Main,
		"docker.io":           reg.Main,
	}}))

	// Docker Hub names, normalised: docker.io/library/<name>, docker.io/<org>/<name>.
	for _, c := range []struct{ image, path string }{
		{"distroless:test", "/v2/library/distroless/manifests/test"},
		{"goinject/distroless:test", "/v2/goinject/distroless/manifests/test"},
		{"docker.io/goinject/zstd:test", "/v2/goinject/zstd/manifests/test"},
		{"docker.io/library/distroless:test", ""}, // the same image as distroless:test: a cache hit
	} {
		reg.clearLog(t)
		a := g.review(t, newPod(c.image))
		checkExpectation(t, a, tiniDistroless)
		entries := reg.log(t)
		heads := selectLog(entries, isManifestHead)
		if c.path == "" {
			if len(entries) != 0 || a.registryState(t) != "hit" {
				t.Errorf("%s: want a cache hit of distroless:test (state %q):%s", c.image, a.registryState(t), logText(entries))
			}
		} else if len(heads) != 1 || heads[0].Path != c.path {
			t.Errorf("%s: want one HEAD %s through the docker.io mirror:%s", c.image, c.path, logText(entries))
		}
	}

	reg.clearLog(t)
	a := g.review(t, newPod("mirror.invalid:5000/goinject/shell:test"))
	checkExpectation(t, a, expectation{action: "shell-wrapper", command: shellWrapper("/app/server"), args: []string{"--port", "8080"}, ptrace: true, mount: true})
	checkFetched(t, a, "fetched", reg.seed["goinject/shell:test"])
	entries := reg.log(t)
	if heads := selectLog(entries, isManifestHead); len(heads) != 1 || heads[0].Path != "/v2/goinject/shell/manifests/test" || heads[0].Listener != "main" {
		t.Errorf("want one HEAD /v2/goinject/shell/manifests/test on the main listener:%s", logText(entries))
	}
	if lines := g.logs.matching(lookupOf("goinject/shell")); len(lines) == 1 {
		t.Logf("lookup line: %s", lines[0].raw)
	}
}
