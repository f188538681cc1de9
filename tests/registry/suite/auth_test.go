package suite

// Bearer tokens, Basic auth, credentials, and redirects to another host.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var (
	tiniDistroless = expectation{action: "tini-wrapper", command: tiniWrapper("/server"), args: []string{"serve"}, ptrace: true, mount: true}
	unsupportedScr = expectation{action: "unsupported", warning: []string{`container "app"`, "libc none"}}
	agentOnlyMusl  = expectation{action: "agent", mount: true}
)

// tokenRequests are the token endpoint's entries.
func tokenRequests(entries []logEntry) []logEntry { return selectLog(entries, isToken) }

func unauthorized(entries []logEntry) []logEntry {
	return selectLog(entries, func(e logEntry) bool { return e.Status == 401 })
}

// Test 5: the Bearer token flow with a credentials file; tokens reused per
// repository until they expire; refused credentials are remembered.
func TestBearerAuth(t *testing.T) {
	reg := newRegistry(t)
	reg.push(t, "distroless", "goinject/app:v1")
	reg.push(t, "scratch", "goinject/app:v2")
	reg.push(t, "musl", "goinject/app:v3")
	reg.push(t, "musl", "goinject/app:v4")
	reg.push(t, "distroless", "goinject/other:v1")
	reg.setAuth(t, authConfig{Mode: "bearer", User: "u", Password: "p"})
	creds := credentialsFile(t, reg.Main, "u", "p")
	g := startGoinject(t, regConfig(reg, 20000, map[string]any{"credentialsFile": creds}))

	t.Run("token flow", func(t *testing.T) {
		reg.clearLog(t)
		a := g.review(t, newPod(reg.Main+"/goinject/app:v1"))
		checkExpectation(t, a, tiniDistroless)
		checkFetched(t, a, "fetched", "")
		entries := reg.log(t)
		if len(entries) < 4 {
			t.Fatalf("too few requests:%s", logText(entries))
		}
		first, tok, retry := entries[0], entries[1], entries[2]
		if !isManifestHead(first) || first.Status != 401 || first.Auth != "none" {
			t.Errorf("first request %s, want an anonymous manifest HEAD answered 401", first)
		}
		if !isToken(tok) || tok.Status != 200 || tok.Auth != "basic" ||
			!strings.Contains(tok.Query, "scope=repository%3Agoinject%2Fapp%3Apull") && !strings.Contains(tok.Query, "scope=repository:goinject/app:pull") {
			t.Errorf("second request %s (query %q), want GET /token 200 with Basic credentials and scope repository:goinject/app:pull", tok, tok.Query)
		}
		if !isManifestHead(retry) || retry.Status != 200 || retry.Auth != "bearer" {
			t.Errorf("third request %s, want the manifest HEAD again, with the token, 200", retry)
		}
		for _, e := range entries[2:] {
			if e.Status != 200 || e.Auth != "bearer" {
				t.Errorf("after the token: %s, want 200 with the Bearer token", e)
			}
		}
		if n := len(tokenRequests(entries)); n != 1 {
			t.Errorf("%d token requests, want 1:%s", n, logText(entries))
		}
	})

	t.Run("token reused for another tag of the repository", func(t *testing.T) {
		reg.clearLog(t)
		a := g.review(t, newPod(reg.Main+"/goinject/app:v2"))
		checkExpectation(t, a, unsupportedScr)
		checkFetched(t, a, "fetched", "")
		entries := reg.log(t)
		if len(tokenRequests(entries)) != 0 || len(unauthorized(entries)) != 0 {
			t.Errorf("want no token request and no 401 (the token of goinject/app is cached):%s", logText(entries))
		}
		for _, e := range entries {
			if e.Auth != "bearer" {
				t.Errorf("%s: sent without the cached token", e)
			}
		}
	})

	t.Run("another repository gets its own token", func(t *testing.T) {
		reg.clearLog(t)
		a := g.review(t, newPod(reg.Main+"/goinject/other:v1"))
		checkExpectation(t, a, tiniDistroless)
		entries := reg.log(t)
		toks := tokenRequests(entries)
		if len(toks) != 1 || !strings.Contains(toks[0].Query, "goinject%2Fother") && !strings.Contains(toks[0].Query, "goinject/other") {
			t.Errorf("want one token request for goinject/other:%s", logText(entries))
		}
	})

	ms := g.metrics(t)
	if ms.sum("goinject_registry_requests_total", "kind", "token", "code", "200") != 2 ||
		ms.sum("goinject_registry_requests_total", "kind", "manifest-head", "code", "401") != 2 {
		t.Errorf("metrics: want 2 token 200 and 2 manifest-head 401:\n%s", ms.dump("goinject_registry_requests_total"))
	}

	t.Run("goinject inspect REF with the credentials", func(t *testing.T) {
		cfgPath := filepath.Join(t.TempDir(), "config.json")
		data, _ := json.Marshal(regConfig(reg, 20000, map[string]any{"credentialsFile": creds}))
		if err := writeFile(cfgPath, data); err != nil {
			t.Fatal(err)
		}
		fromReg, _ := inspectJSON(t, []string{"--config", cfgPath}, reg.Main+"/goinject/other:v1")
		fromTarball, _ := inspectJSON(t, nil, filepath.Join(imagesDir, "distroless.tar"))
		compareFacts(t, fromReg, fromTarball, []string{"image", "digest", "format"})
	})

	t.Run("token refused by the registry: a new one", func(t *testing.T) {
		// A change of the auth settings makes the registry forget every token
		// (as a registry restart would): goinject's cached token of goinject/app
		// is refused, and a new one must be fetched.
		reg.setAuth(t, authConfig{Mode: "bearer", User: "u", Password: "p"})
		reg.clearLog(t)
		a := g.review(t, newPod(reg.Main+"/goinject/app:v3"))
		checkExpectation(t, a, agentOnlyMusl)
		checkFetched(t, a, "fetched", "")
		entries := reg.log(t)
		if len(tokenRequests(entries)) != 1 {
			t.Errorf("want one new token request:%s", logText(entries))
		}
		if len(a.Warnings) != 0 {
			t.Errorf("warnings %q", a.Warnings)
		}
	})

	t.Run("token expiry", func(t *testing.T) {
		// Tokens of 2 s (goinject keeps a token expires_in - 5 s, or the whole
		// expires_in when that is 10 s or less).
		reg.setAuth(t, authConfig{Mode: "bearer", User: "u", Password: "p", TokenTTL: 2})
		g2 := startGoinject(t, regConfig(reg, 20000, map[string]any{"credentialsFile": creds}))
		reg.clearLog(t)
		g2.review(t, newPod(reg.Main+"/goinject/app:v1"))
		if n := len(tokenRequests(reg.log(t))); n != 1 {
			t.Fatalf("%d token requests for the first image, want 1", n)
		}
		time.Sleep(2300 * time.Millisecond)
		reg.clearLog(t)
		a := g2.review(t, newPod(reg.Main+"/goinject/app:v4"))
		checkExpectation(t, a, agentOnlyMusl)
		entries := reg.log(t)
		if toks := tokenRequests(entries); len(toks) != 1 || toks[0].Status != 200 {
			t.Errorf("after the token's expiry: want one new token request:%s", logText(entries))
		}
		for _, e := range entries {
			if e.Auth == "bearer" && e.Status == 401 {
				t.Errorf("an expired token was sent: %s", e)
			}
		}
	})

	t.Run("wrong password: warning, then no request for a while", func(t *testing.T) {
		reg.setAuth(t, authConfig{Mode: "bearer", User: "u", Password: "p"})
		bad := credentialsFile(t, reg.Main, "u", "wrong")
		g3 := startGoinject(t, regConfig(reg, 20000, map[string]any{"credentialsFile": bad}))
		image := reg.Main + "/goinject/app:v1"
		reg.clearLog(t)
		a := g3.review(t, newPod(image))
		w := a.warningWith(`container "app"`, "could not be read from its registry", "credentials")
		if w == "" {
			t.Fatalf("no warning about credentials among %q", a.Warnings)
		}
		if a.command() != nil || a.registryState(t) != "failed" {
			t.Errorf("command %q, facts.app.registry %q: want no wrapper, failed", a.command(), a.registryState(t))
		}
		entries := reg.log(t)
		if toks := tokenRequests(entries); len(toks) != 1 || toks[0].Status != 401 {
			t.Errorf("want one token request refused with 401:%s", logText(entries))
		}
		t.Logf("warning: %s", w)

		reg.clearLog(t)
		again := g3.review(t, newPod(image))
		if entries := reg.log(t); len(entries) != 0 {
			t.Errorf("the second review within 60 s sent requests:%s", logText(entries))
		}
		if !slices.Contains(again.Warnings, w) {
			t.Errorf("the second review's warnings %q do not repeat %q", again.Warnings, w)
		}
		if got := g3.metrics(t).sum("goinject_facts_lookups_total", "result", "auth"); got != 2 {
			t.Errorf("goinject_facts_lookups_total{result=\"auth\"} %g, want 2", got)
		}
	})
}

// Test 6: Basic auth with the credentials file; without credentials a warning.
func TestBasicAuth(t *testing.T) {
	reg := newRegistry(t)
	reg.push(t, "distroless", "goinject/app:v1")
	reg.push(t, "musl", "goinject/app:v2")
	reg.setAuth(t, authConfig{Mode: "basic", User: "u", Password: "p"})
	image := reg.Main + "/goinject/app:v1"

	t.Run("with credentials", func(t *testing.T) {
		g := startGoinject(t, regConfig(reg, 20000, map[string]any{"credentialsFile": credentialsFile(t, reg.Main, "u", "p")}))
		reg.clearLog(t)
		a := g.review(t, newPod(image))
		checkExpectation(t, a, tiniDistroless)
		checkFetched(t, a, "fetched", "")
		entries := reg.log(t)
		if len(entries) < 2 || !isManifestHead(entries[0]) || entries[0].Status != 401 || entries[0].Auth != "none" {
			t.Fatalf("want an anonymous manifest HEAD answered 401 first:%s", logText(entries))
		}
		for _, e := range entries[1:] {
			if e.Status != 200 || e.Auth != "basic" {
				t.Errorf("%s: want 200 with Basic credentials", e)
			}
		}
		if len(tokenRequests(entries)) != 0 {
			t.Errorf("token requests in Basic mode:%s", logText(entries))
		}
	})
	t.Run("without credentials", func(t *testing.T) {
		g := startGoinject(t, regConfig(reg, 20000, nil))
		a := g.review(t, newPod(image))
		if a.warningWith(`container "app"`, "could not be read from its registry", "password") == "" &&
			a.warningWith(`container "app"`, "could not be read from its registry", "credentials") == "" {
			t.Errorf("no warning about missing credentials among %q", a.Warnings)
		}
		t.Logf("warnings: %q", a.Warnings)
		if a.command() != nil {
			t.Errorf("wrapped without facts: %q", a.command())
		}
	})
	t.Run("credentials file rotated", func(t *testing.T) {
		creds := credentialsFile(t, reg.Main, "u", "p")
		g := startGoinject(t, regConfig(reg, 20000, map[string]any{"credentialsFile": creds}))
		checkExpectation(t, g.review(t, newPod(image)), tiniDistroless)
		// The password changes at the registry and in the file (replaced as a
		// mounted Secret is: a new file renamed into place).
		reg.setAuth(t, authConfig{Mode: "basic", User: "u", Password: "p2"})
		next := credentialsFile(t, reg.Main, "u", "p2")
		if err := os.Rename(next, creds); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1100 * time.Millisecond) // goinject looks at the file at most once a second
		reg.clearLog(t)
		a := g.review(t, newPod(reg.Main+"/goinject/app:v2"))
		checkExpectation(t, a, agentOnlyMusl)
		checkFetched(t, a, "fetched", "")
		if bad := selectLog(reg.log(t), func(e logEntry) bool { return e.Auth == "basic" && e.Status == 401 }); len(bad) != 0 {
			t.Errorf("the old password was sent:%s", logText(bad))
		}
	})
}

// Test 10: blobs redirected to another host under Bearer auth: followed, and
// the token is not sent to the other host.
func TestCrossHostRedirect(t *testing.T) {
	reg := newRegistry(t)
	reg.push(t, "distroless", "goinject/app:v1")
	layers := reg.layerDigests(t, "goinject/app", "v1")
	reg.setAuth(t, authConfig{Mode: "bearer", User: "u", Password: "p"})
	reg.setFaults(t, fault{Match: "/blobs/sha256:", Method: "GET", Kind: "redirect", Listener: "main"})
	g := startGoinject(t, regConfig(reg, 20000, map[string]any{"credentialsFile": credentialsFile(t, reg.Main, "u", "p")}))

	reg.clearLog(t)
	a := g.review(t, newPod(reg.Main+"/goinject/app:v1"))
	checkExpectation(t, a, tiniDistroless)
	checkFetched(t, a, "fetched", "")
	entries := reg.log(t)
	onOther := selectLog(entries, func(e logEntry) bool { return e.Listener == "other" })
	if len(onOther) == 0 {
		t.Fatalf("nothing was read from the other host:%s", logText(entries))
	}
	for _, e := range onOther {
		if e.Auth != "none" || e.Status != 200 {
			t.Errorf("other host: %s, want 200 and no Authorization", e)
		}
	}
	for _, l := range layers {
		if len(selectLog(onOther, func(e logEntry) bool { return strings.HasSuffix(e.Path, l) })) != 1 {
			t.Errorf("layer %s not read once from the other host:%s", l, logText(entries))
		}
	}
	for _, e := range selectLog(entries, func(e logEntry) bool { return e.Listener == "main" && isBlobGet(e) }) {
		if e.Status != 307 || e.Auth != "bearer" {
			t.Errorf("main blob GET %s, want 307 answered to a Bearer request", e)
		}
	}
}

// Credentials and mirrors: requests for mirror.invalid:5000 go to the test
// registry (the mirror). The credentials that go with them are the mirror
// host's: the mirrored registry's own credentials are not sent to another host.
func TestMirrorCredentials(t *testing.T) {
	reg := newRegistry(t)
	reg.push(t, "distroless", "goinject/app:v1")
	reg.setAuth(t, authConfig{Mode: "basic", User: "u", Password: "p"})
	mirrors := map[string]any{"mirrors": map[string]string{"mirror.invalid:5000": reg.Main}}
	image := "mirror.invalid:5000/goinject/app:v1"

	t.Run("the mirror host's credentials are used", func(t *testing.T) {
		cfg := regConfig(reg, 20000, mirrors)
		cfg["registry"].(map[string]any)["credentialsFile"] = credentialsFile(t, reg.Main, "u", "p")
		g := startGoinject(t, cfg)
		reg.clearLog(t)
		a := g.review(t, newPod(image))
		if a.command() == nil {
			t.Errorf("BUG: the mirror %s asks for a password and the credentials file has one for it, but the lookup failed: %q", reg.Main, a.Warnings)
		}
	})
	t.Run("the mirrored registry's credentials stay with it", func(t *testing.T) {
		cfg := regConfig(reg, 20000, mirrors)
		cfg["registry"].(map[string]any)["credentialsFile"] = credentialsFile(t, "mirror.invalid:5000", "u", "p")
		g := startGoinject(t, cfg)
		reg.clearLog(t)
		g.review(t, newPod(image))
		if sent := selectLog(reg.log(t), func(e logEntry) bool { return e.Auth != "none" }); len(sent) != 0 {
			t.Errorf("BUG: the credentials of mirror.invalid:5000 were sent to the mirror host %s:%s", reg.Main, logText(sent))
		}
	})
}
