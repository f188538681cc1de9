package suite

// Caches, sharing of lookups, the budget, and what /metrics says about them.

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// Test 2: the second pod of an image is answered from the caches, without a
// single request to the registry.
func TestWarmCacheNoRequests(t *testing.T) {
	reg := sharedRegistry(t)
	g := startGoinject(t, regConfig(reg, 20000, nil))
	image := reg.Main + "/goinject/distroless:test"
	digest := reg.seed["goinject/distroless:test"]

	first := g.review(t, newPod(image))
	checkFetched(t, first, "fetched", digest)
	if len(reg.log(t)) == 0 {
		t.Fatal("the cold lookup sent no request to the registry")
	}
	reg.clearLog(t)

	second := g.review(t, newPod(image))
	if entries := reg.log(t); len(entries) != 0 {
		t.Errorf("the warm review sent %d requests, want none:%s", len(entries), logText(entries))
	}
	checkFetched(t, second, "hit", digest)
	if !reflect.DeepEqual(first.spec(), second.spec()) || !reflect.DeepEqual(first.Warnings, second.Warnings) {
		t.Errorf("warm answer differs from the cold one:\n cold: %v %q\n warm: %v %q", first.spec(), first.Warnings, second.spec(), second.Warnings)
	}
	if n := len(g.logs.matching(lookupOf("goinject/distroless"))); n != 1 {
		t.Errorf("%d registry lookup lines, want 1", n)
	}
	ms := g.metrics(t)
	if ms.sum("goinject_facts_lookups_total", "result", "hit") != 1 || ms.sum("goinject_facts_cache_hits_total", "cache", "facts") < 1 {
		t.Errorf("metrics do not count the hit:\n%s", ms.dump("goinject_facts_"))
	}
	t.Logf("cold review %d ms, warm review %d ms", first.Elapsed.Milliseconds(), second.Elapsed.Milliseconds())
}

// Test 3: 30 reviews of one new image at once share one lookup.
func TestConcurrentSingleLookup(t *testing.T) {
	reg := sharedRegistry(t)
	// Enough server threads that the 30 reviews really wait at the same time.
	g := startGoinject(t, regConfig(reg, 20000, nil), "--threads", "32")
	image := reg.Main + "/goinject/shell:test"

	const n = 30
	var wg sync.WaitGroup
	start := make(chan struct{})
	answers := make([]*answer, n)
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			answers[i], errs[i] = g.tryReview(newPod(image))
		}(i)
	}
	began := time.Now()
	close(start)
	wg.Wait()
	took := time.Since(began)

	states := map[string]int{}
	for i := 0; i < n; i++ {
		if errs[i] != nil {
			t.Errorf("review %d: %v", i, errs[i])
			continue
		}
		a := answers[i]
		states[a.registryState(t)]++
		if !reflect.DeepEqual(a.command(), shellWrapper("/app/server")) {
			t.Errorf("review %d: command %q, want the shell wrapper (warnings %q)", i, a.command(), a.Warnings)
		}
	}
	t.Logf("30 concurrent reviews in %v; registry states %v", took.Round(time.Millisecond), states)
	if states["pending"] != 0 || states["failed"] != 0 {
		t.Errorf("registry states %v, want only fetched and hit", states)
	}

	entries := reg.settledLog(t, 200*time.Millisecond, 5*time.Second)
	if heads := selectLog(entries, isManifestHead); len(heads) != 1 {
		t.Errorf("%d manifest HEADs, want 1:%s", len(heads), logText(entries))
	}
	if gets := selectLog(entries, isManifestGet); len(gets) != 1 {
		t.Errorf("%d manifest GETs, want 1:%s", len(gets), logText(entries))
	}
	blobs := map[string]int{}
	for _, e := range selectLog(entries, isBlobGet) {
		blobs[e.Path]++
	}
	for p, c := range blobs {
		if c != 1 {
			t.Errorf("blob %s read %d times, want 1", p, c)
		}
	}
	if lines := g.logs.matching(lookupOf("goinject/shell")); len(lines) != 1 {
		t.Errorf("%d registry lookup lines, want 1", len(lines))
	}
}

// Test 4: a registry slower than the budget: the review is answered in time
// without the facts, and the lookup finishes in the background for the next pod.
func TestOverBudgetPending(t *testing.T) {
	reg := sharedRegistry(t)
	const budget = 500
	g := startGoinject(t, regConfig(reg, budget, nil))
	reg.setFaults(t, fault{Match: "/manifests/", Method: "HEAD", Kind: "delay", DelayMs: 3000})
	image := reg.Main + "/goinject/distroless:test"

	a := g.review(t, newPod(image))
	if limit := (budget + 700) * time.Millisecond; a.Elapsed > limit {
		t.Errorf("answered in %v, want under %v", a.Elapsed, limit)
	}
	if a.command() != nil || a.args() != nil {
		t.Errorf("wrapped without facts: command %q args %q", a.command(), a.args())
	}
	if w := a.warningWith(`container "app"`, "are not known yet", "goinject/distroless:test"); w == "" {
		t.Errorf("no \"are not known yet\" warning among %q", a.Warnings)
	}
	if s := a.registryState(t); s != "pending" {
		t.Errorf("facts.app.registry %q, want pending", s)
	}
	if r := a.annotation("goinject.io/reason"); !strings.Contains(r, "image facts pending") {
		t.Errorf("goinject.io/reason %q lacks \"image facts pending\"", r)
	}
	t.Logf("over budget: answered in %d ms, action %q, reason %q", a.Elapsed.Milliseconds(), a.action(t), a.annotation("goinject.io/reason"))

	// The lookup goes on: its log line, then goinject_facts_pending 0.
	lines := g.logs.waitN(10*time.Second, 1, lookupOf("goinject/distroless"))
	if len(lines) != 1 || lines[0].str("result") != "ok" {
		t.Fatalf("background lookup: lines %v, want one with result ok", lines)
	}
	if ms := lines[0].num("ms"); ms < 3000 {
		t.Errorf("background lookup took %v ms, less than the registry's 3 s delay", ms)
	}
	g.waitPendingZero(t, 5*time.Second)
	ms := g.metrics(t)
	if got := ms.sum("goinject_facts_lookups_total", "result", "timeout"); got != 1 {
		t.Errorf("goinject_facts_lookups_total{result=\"timeout\"} %g, want 1", got)
	}

	reg.clearLog(t)
	next := g.review(t, newPod(image))
	checkExpectation(t, next, expectation{action: "tini-wrapper", command: tiniWrapper("/server"), args: []string{"serve"}, ptrace: true, mount: true})
	checkFetched(t, next, "hit", reg.seed["goinject/distroless:test"])
	if r := next.annotation("goinject.io/reason"); strings.Contains(r, "pending") {
		t.Errorf("goinject.io/reason %q still says pending", r)
	}
	if entries := reg.log(t); len(entries) != 0 {
		t.Errorf("the next review sent requests:%s", logText(entries))
	}
}

// Test 14: /metrics counts requests by registry, kind and code, bytes, the
// lookups by result and the caches; the counts agree with the registry's log.
func TestMetrics(t *testing.T) {
	reg := sharedRegistry(t)
	g := startGoinject(t, regConfig(reg, 20000, nil))
	image := reg.Main + "/goinject/distroless:test"

	g.review(t, newPod(image))                                // miss, fetched
	g.review(t, newPod(image))                                // hit
	nf := g.review(t, newPod(reg.Main+"/goinject/nope:test")) // not found
	if w := nf.warningWith(`container "app"`, "could not be read from its registry", "not found"); w == "" {
		t.Errorf("no not-found warning among %q", nf.Warnings)
	}
	if s := nf.registryState(t); s != "failed" {
		t.Errorf("not found: facts.app.registry %q, want failed", s)
	}
	entries := reg.settledLog(t, 200*time.Millisecond, 5*time.Second)
	ms := g.metrics(t)
	t.Logf("metrics:\n%s", ms.dump("goinject_registry_")+"\n"+ms.dump("goinject_facts_"))

	t.Run("requests agree with the registry log", func(t *testing.T) {
		want := map[string]int{}
		for _, e := range entries {
			kind := ""
			switch {
			case isManifestHead(e):
				kind = "manifest-head"
			case isManifestGet(e):
				kind = "manifest"
			case isBlobGet(e):
				kind = "blob" // config or layer
			default:
				t.Errorf("unexpected request %s", e)
				continue
			}
			want[fmt.Sprintf("%s %d", kind, e.Status)]++
		}
		got := map[string]int{}
		for _, s := range ms {
			if s.name != "goinject_registry_requests_total" || s.value == 0 {
				continue
			}
			if s.labels["registry"] != reg.Main {
				t.Errorf("request counted for registry %q, want %q", s.labels["registry"], reg.Main)
			}
			kind := s.labels["kind"]
			if kind == "config" || kind == "layer" {
				kind = "blob"
			}
			got[kind+" "+s.labels["code"]] += int(s.value)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("requests by kind and code: metrics %v, registry log %v", got, want)
		}
		t.Logf("requests seen by the registry: %v", want)
		for _, kind := range []string{"manifest-head", "manifest", "layer"} {
			c := ms.sum("goinject_registry_requests_total", "kind", kind, "code", "200")
			if c < 1 {
				t.Errorf("goinject_registry_requests_total{kind=%q,code=\"200\"} = %g, want >= 1", kind, c)
			}
		}
		for _, kind := range []string{"token", "manifest-head", "manifest", "config", "layer"} {
			c := ms.sum("goinject_registry_requests_total", "kind", kind)
			if h := ms.sum("goinject_registry_request_duration_seconds_count", "kind", kind); h != c {
				t.Errorf("duration histogram count for %s = %g, requests %g", kind, h, c)
			}
		}
		if c := ms.sum("goinject_registry_requests_total", "kind", "manifest-head", "code", "404"); c != 1 {
			t.Errorf("manifest-head 404 counted %g times, want 1", c)
		}
		var logged float64
		for _, l := range g.logs.matching(func(l logLine) bool { return l.str("msg") == "registry lookup" }) {
			logged += l.num("bytes")
		}
		if b := ms.sum("goinject_registry_bytes_total", "registry", reg.Main); b < logged || b == 0 {
			t.Errorf("goinject_registry_bytes_total %g, under the %g bytes of the lookup lines", b, logged)
		}
	})

	t.Run("config blobs are kind config", func(t *testing.T) {
		// distroless: one config blob and one layer.
		if c := ms.sum("goinject_registry_requests_total", "kind", "config", "code", "200"); c != 1 {
			t.Errorf("BUG: goinject_registry_requests_total{kind=\"config\",code=\"200\"} = %g, want 1; kind \"layer\" counts %g requests for a one-layer image",
				c, ms.sum("goinject_registry_requests_total", "kind", "layer", "code", "200"))
		}
	})

	t.Run("lookups and caches", func(t *testing.T) {
		for result, n := range map[string]float64{"miss": 1, "hit": 1, "not-found": 1, "timeout": 0, "auth": 0, "rate-limited": 0, "error": 0} {
			if !ms.has("goinject_facts_lookups_total", "result", result) {
				t.Errorf("no goinject_facts_lookups_total{result=%q}", result)
			}
			if got := ms.sum("goinject_facts_lookups_total", "result", result); got != n {
				t.Errorf("goinject_facts_lookups_total{result=%q} %g, want %g", result, got, n)
			}
		}
		for _, c := range []string{"tags", "facts", "failures"} {
			if got := ms.sum("goinject_facts_cache_entries", "cache", c); got != 1 {
				t.Errorf("goinject_facts_cache_entries{cache=%q} %g, want 1", c, got)
			}
		}
		if ms.sum("goinject_facts_cache_hits_total", "cache", "facts") != 1 || ms.sum("goinject_facts_cache_hits_total", "cache", "tags") != 1 ||
			ms.sum("goinject_facts_cache_misses_total", "cache", "tags") != 2 {
			t.Errorf("cache counters: want 1 facts hit, 1 tags hit, 2 tags misses:\n%s", ms.dump("goinject_facts_cache"))
		}
		if p := ms.sum("goinject_facts_pending"); p != 0 {
			t.Errorf("goinject_facts_pending %g, want 0", p)
		}
	})

	t.Run("a cold lookup is a facts cache miss", func(t *testing.T) {
		// The cold lookup of distroless did not find its digest's facts: once
		// its tag is resolved, goinject looks in the facts cache (see
		// TestDigestFactsCache), and that miss is counted once.
		if got := ms.sum("goinject_facts_cache_misses_total", "cache", "facts"); got != 1 {
			t.Errorf("goinject_facts_cache_misses_total{cache=\"facts\"} %g after one cold lookup, want 1", got)
		}
	})
}

// The facts cache is keyed by digest (and platforms): a lookup whose tag
// resolves to a digest whose facts are known needs the manifest HEAD only,
// never the manifest and blobs again.
func TestDigestFactsCache(t *testing.T) {
	reg := sharedRegistry(t)
	// The same image as goinject/distroless:test, under another tag.
	alias := reg.push(t, "distroless", "goinject/distroless:alias")
	if alias != reg.seed["goinject/distroless:test"] {
		t.Fatalf("pushed distroless.tar as %s, the seeded goinject/distroless:test is %s: not the same digest", alias, reg.seed["goinject/distroless:test"])
	}

	check := func(t *testing.T, g *goinject, image string) {
		t.Helper()
		reg.clearLog(t)
		a := g.review(t, newPod(image))
		checkExpectation(t, a, expectation{action: "tini-wrapper", command: tiniWrapper("/server"), args: []string{"serve"}, ptrace: true, mount: true})
		entries := reg.settledLog(t, 100*time.Millisecond, 3*time.Second)
		heads := selectLog(entries, isManifestHead)
		other := selectLog(entries, func(e logEntry) bool { return !isManifestHead(e) })
		if len(heads) != 1 || len(other) != 0 {
			t.Errorf("BUG: want one manifest HEAD and nothing else (the digest's facts are cached), got%s", logText(entries))
		}
		t.Logf("facts.app: %v", a.facts(t))
	}

	t.Run("another tag of a known digest", func(t *testing.T) {
		g := startGoinject(t, regConfig(reg, 20000, nil))
		g.review(t, newPod(reg.Main+"/goinject/distroless:test"))
		check(t, g, reg.Main+"/goinject/distroless:alias")
	})
	t.Run("tag TTL over, digest unchanged", func(t *testing.T) {
		g := startGoinject(t, regConfig(reg, 20000, map[string]any{"tagTTLSeconds": 1}))
		g.review(t, newPod(reg.Main+"/goinject/distroless:test"))
		time.Sleep(1100 * time.Millisecond)
		check(t, g, reg.Main+"/goinject/distroless:test")
	})
}

// The budget is never longer than the API server's own timeout minus 1 s.
func TestBudgetCappedByTimeout(t *testing.T) {
	reg := sharedRegistry(t)
	reg.setFaults(t, fault{Match: "/manifests/", Method: "HEAD", Kind: "delay", DelayMs: 3000})
	g := startGoinject(t, regConfig(reg, 20000, nil))
	a := g.reviewQuery(t, newPod(reg.Main+"/goinject/distroless:test"), "timeout=2s")
	if limit := 1700 * time.Millisecond; a.Elapsed > limit {
		t.Errorf("?timeout=2s with budgetMs 20000: answered in %v, want under %v (2 s - 1 s + 700 ms)", a.Elapsed, limit)
	}
	if a.registryState(t) != "pending" || a.warningWith("are not known yet") == "" {
		t.Errorf("facts.app.registry %q, warnings %q: want pending with a warning", a.registryState(t), a.Warnings)
	}
	t.Logf("answered in %d ms", a.Elapsed.Milliseconds())
}

// A pod's containers share one deadline; one lookup per image.
func TestPodBudgetShared(t *testing.T) {
	reg := sharedRegistry(t)
	const budget = 800
	reg.setFaults(t, fault{Match: "/manifests/", Method: "HEAD", Kind: "delay", DelayMs: 3000})
	g := startGoinject(t, regConfig(reg, budget, nil))
	distroless, musl := reg.Main+"/goinject/distroless:test", reg.Main+"/goinject/musl:test"
	pod := func() map[string]any {
		return newPod(distroless, withContainer("web", musl), withContainer("side", distroless))
	}

	a := g.review(t, pod())
	if limit := (budget + 700) * time.Millisecond; a.Elapsed > limit {
		t.Errorf("three slow containers answered in %v, want under %v (one shared budget)", a.Elapsed, limit)
	}
	for _, c := range []string{"app", "web", "side"} {
		if f := a.factsOf(t, c); f["registry"] != "pending" {
			t.Errorf("facts.%s %v, want registry pending", c, f)
		}
		if a.warningWith(`container "`+c+`"`, "are not known yet") == "" {
			t.Errorf("no pending warning for %s among %q", c, a.Warnings)
		}
	}
	t.Logf("answered in %d ms", a.Elapsed.Milliseconds())

	g.logs.waitN(10*time.Second, 2, func(l logLine) bool { return l.str("msg") == "registry lookup" })
	g.waitPendingZero(t, 5*time.Second)
	entries := reg.settledLog(t, 200*time.Millisecond, 3*time.Second)
	if heads := selectLog(entries, isManifestHead); len(heads) != 2 {
		t.Errorf("%d manifest HEADs, want 2 (one per image):%s", len(heads), logText(entries))
	}

	next := g.review(t, pod())
	for i, c := range []string{"app", "web", "side"} {
		if f := next.factsOf(t, c); f["registry"] != "hit" {
			t.Errorf("next pod: facts.%s %v, want registry hit", c, f)
		}
		cmd := strs(next.containerAt(i)["command"])
		if want := tiniWrapper("/server"); c != "web" && !reflect.DeepEqual(cmd, want) {
			t.Errorf("next pod: %s command %q, want %q", c, cmd, want)
		}
		if c == "web" && cmd != nil {
			t.Errorf("next pod: web (musl, not static Go) command %q, want none", cmd)
		}
	}
}

// A reference with a digest needs no tag resolution.
func TestDigestReference(t *testing.T) {
	reg := sharedRegistry(t)
	g := startGoinject(t, regConfig(reg, 20000, nil))
	digest := reg.seed["goinject/distroless:test"]
	for _, image := range []string{
		reg.Main + "/goinject/distroless@" + digest,
		reg.Main + "/goinject/zstd:no-such-tag@" + reg.seed["goinject/zstd:test"], // the tag is ignored
	} {
		reg.clearLog(t)
		a := g.review(t, newPod(image))
		checkExpectation(t, a, tiniDistroless)
		entries := reg.log(t)
		if heads := selectLog(entries, isManifestHead); len(heads) != 0 {
			t.Errorf("%s: manifest HEADs sent for a digest reference:%s", image, logText(entries))
		}
		f := a.facts(t)
		if d, _ := f["digest"].(string); !strings.HasSuffix(image, d) {
			t.Errorf("%s: facts.app.digest %v", image, f["digest"])
		}
	}
}

// With the registry layer off (--no-registry, or "enabled": false) nothing is
// sent to a registry and the status has no facts member.
func TestRegistryOff(t *testing.T) {
	reg := sharedRegistry(t)
	for name, g := range map[string]*goinject{
		"--no-registry":  startGoinject(t, regConfig(reg, 20000, nil), "--no-registry"),
		"enabled: false": startGoinject(t, regConfig(reg, 20000, map[string]any{"enabled": false})),
	} {
		reg.clearLog(t)
		a := g.review(t, newPod(reg.Main+"/goinject/distroless:test"))
		if entries := reg.log(t); len(entries) != 0 {
			t.Errorf("%s: requests sent:%s", name, logText(entries))
		}
		if _, ok := a.status(t)["facts"]; ok {
			t.Errorf("%s: status has facts: %v", name, a.status(t))
		}
		notWrapped(t, a)
		t.Logf("%s: action %q, warnings %q", name, a.action(t), a.Warnings)
	}
}

// A lookup that goes on past the budget and then fails: the next pods get the
// failure from the cache, without a request.
func TestPendingThenFailed(t *testing.T) {
	reg := sharedRegistry(t)
	reg.setFaults(t, fault{Match: "/manifests/", Method: "HEAD", Kind: "delay", DelayMs: 1500})
	g := startGoinject(t, regConfig(reg, 300, nil))
	image := reg.Main + "/goinject/no-such-image:test"
	a := g.review(t, newPod(image))
	if a.registryState(t) != "pending" {
		t.Fatalf("facts.app.registry %q, want pending", a.registryState(t))
	}
	lines := g.logs.waitN(10*time.Second, 1, lookupOf("goinject/no-such-image"))
	if len(lines) != 1 || lines[0].str("result") != "not-found" {
		t.Fatalf("lookup lines %v, want one not-found", lines)
	}
	reg.clearLog(t)
	next := g.review(t, newPod(image))
	if entries := reg.log(t); len(entries) != 0 {
		t.Errorf("requests sent while the not-found is cached:%s", logText(entries))
	}
	if next.registryState(t) != "failed" || next.warningWith("could not be read from its registry", "not found") == "" {
		t.Errorf("facts.app.registry %q, warnings %q: want failed, not found", next.registryState(t), next.Warnings)
	}
}

// Timeouts and 5xx: 2 s of backoff, doubled by the next failure.
func TestBackoffDoubles(t *testing.T) {
	reg := sharedRegistry(t)
	reg.setFaults(t, fault{Match: "/manifests/", Method: "HEAD", Kind: "status", Status: 500})
	g := startGoinject(t, regConfig(reg, 20000, nil))
	image := reg.Main + "/goinject/distroless:test"
	heads := func() int { return len(selectLog(reg.log(t), isManifestHead)) }

	g.review(t, newPod(image)) // failure 1: 2 s
	first := time.Now()
	time.Sleep(time.Until(first.Add(2100 * time.Millisecond)))
	reg.clearLog(t)
	g.review(t, newPod(image)) // failure 2: 4 s
	second := time.Now()
	if n := heads(); n != 1 {
		t.Fatalf("after the first 2 s backoff: %d HEADs, want 1", n)
	}
	time.Sleep(time.Until(second.Add(2100 * time.Millisecond)))
	reg.clearLog(t)
	a := g.review(t, newPod(image))
	if n := heads(); n != 0 {
		t.Errorf("2.1 s after the second failure: %d HEADs, want 0 (backoff 4 s)", n)
	}
	if a.warningWith("could not be read from its registry", "500") == "" {
		t.Errorf("warnings %q: want the stored 500", a.Warnings)
	}
}
