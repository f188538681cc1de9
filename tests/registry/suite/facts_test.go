package suite

// Facts read from the registry choose the same wrapper as the same facts
// written as annotations; multi-arch images; `goinject inspect REF`.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// tarAnnotations is what `goinject inspect --annotations app` prints for a fixture tarball.
func tarAnnotations(t *testing.T, fixture string) map[string]string {
	t.Helper()
	out, err := exec.Command(goinjectBin, "inspect", "--annotations", "app", filepath.Join(imagesDir, fixture+".tar")).Output()
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 1 {
		err = nil // 1: an unsupported image; the annotations are printed all the same
	}
	if err != nil {
		t.Fatalf("goinject inspect --annotations app %s.tar: %v", fixture, err)
	}
	var a map[string]string
	if err := json.Unmarshal(out, &a); err != nil {
		t.Fatalf("inspect --annotations: %v: %s", err, out)
	}
	return a
}

// expectation is what the rules table gives for a fixture's facts.
type expectation struct {
	action  string   // status.containers.app
	command []string // nil: command untouched
	args    []string
	ptrace  bool
	mount   bool     // agent volume mount (and the init container)
	warning []string // parts of a warning that must be there; nil: no warnings at all
}

func checkExpectation(t *testing.T, a *answer, want expectation) {
	t.Helper()
	if got := a.action(t); got != want.action {
		t.Errorf("status action %q, want %q", got, want.action)
	}
	if got := a.command(); !reflect.DeepEqual(got, want.command) {
		t.Errorf("command %q, want %q", got, want.command)
	}
	if got := a.args(); !reflect.DeepEqual(got, want.args) {
		t.Errorf("args %q, want %q", got, want.args)
	}
	if got := a.hasPtrace(); got != want.ptrace {
		t.Errorf("SYS_PTRACE added: %v, want %v", got, want.ptrace)
	}
	if got := a.hasAgentMount(); got != want.mount {
		t.Errorf("agent volume mount: %v, want %v", got, want.mount)
	}
	if got := a.hasInitContainer(); got != want.mount {
		t.Errorf("agent init container: %v, want %v", got, want.mount)
	}
	if want.warning == nil {
		if len(a.Warnings) != 0 {
			t.Errorf("warnings %q, want none", a.Warnings)
		}
	} else if a.warningWith(want.warning...) == "" {
		t.Errorf("no warning containing %q among %q", want.warning, a.Warnings)
	}
}

// compareWithAnnotated: the unannotated pod whose facts came from the registry
// and the same pod with the facts as annotations (registry off) get the same
// operations on /spec, the same patched spec, the same warnings and the same
// annotations, but for the status annotation's "facts" member.
func compareWithAnnotated(t *testing.T, fromRegistry, annotated *answer) {
	t.Helper()
	if !reflect.DeepEqual(fromRegistry.specOps(), annotated.specOps()) {
		t.Errorf("/spec operations differ:\n registry:    %v\n annotations: %v", fromRegistry.specOps(), annotated.specOps())
	}
	if !reflect.DeepEqual(fromRegistry.spec(), annotated.spec()) {
		t.Errorf("patched specs differ:\n registry:    %v\n annotations: %v", fromRegistry.spec(), annotated.spec())
	}
	if !slices.Equal(fromRegistry.Warnings, annotated.Warnings) {
		t.Errorf("warnings differ:\n registry:    %q\n annotations: %q", fromRegistry.Warnings, annotated.Warnings)
	}
	rs, as := fromRegistry.status(t), annotated.status(t)
	if _, ok := rs["facts"]; !ok {
		t.Errorf("registry answer: status has no \"facts\" member: %v", rs)
	}
	if _, ok := as["facts"]; ok {
		t.Errorf("annotated answer (registry off): status has a \"facts\" member: %v", as)
	}
	delete(rs, "facts")
	if !reflect.DeepEqual(rs, as) {
		t.Errorf("status annotations differ (facts aside):\n registry:    %v\n annotations: %v", rs, as)
	}
	for _, k := range []string{"goinject.io/injected", "goinject.io/reason"} {
		if r, a := fromRegistry.annotation(k), annotated.annotation(k); r != a {
			t.Errorf("%s: %q from the registry, %q from annotations", k, r, a)
		}
	}
}

// checkFetched: status.facts.app says the facts came from the registry, in this review.
func checkFetched(t *testing.T, a *answer, wantState, wantDigest string) {
	t.Helper()
	f := a.facts(t)
	if f == nil {
		t.Fatalf("status has no facts.app: %v", a.status(t))
	}
	if f["registry"] != wantState {
		t.Errorf("facts.app.registry %v, want %q", f["registry"], wantState)
	}
	if !slices.Contains(strs(f["from"]), "registry") {
		t.Errorf("facts.app.from %v does not name the registry", f["from"])
	}
	if wantDigest != "" && f["digest"] != wantDigest {
		t.Errorf("facts.app.digest %v, want %s", f["digest"], wantDigest)
	}
}

// Test 1: cold lookups choose the wrapper of the rules table, and exactly what
// the same facts given as annotations choose.
func TestColdFactsChooseWrapper(t *testing.T) {
	reg := sharedRegistry(t)
	cfg := regConfig(reg, 20000, nil)

	shell := expectation{action: "shell-wrapper", command: shellWrapper("/app/server"), args: []string{"--port", "8080"}, ptrace: true, mount: true}
	tini := expectation{action: "tini-wrapper", command: tiniWrapper("/server"), args: []string{"serve"}, ptrace: true, mount: true}
	agentOnly := expectation{action: "agent", mount: true}
	cases := []struct {
		fixture string
		annot   func(t *testing.T) map[string]string // the annotated twin's facts
		want    expectation
	}{
		{"shell", fromTar("shell"), shell},
		{"distroless", fromTar("distroless"), tini},
		{"scratch", fromTar("scratch"), expectation{action: "unsupported", warning: []string{`container "app"`, "libc none"}}},
		{"cgo-static", fromTar("cgo-static"), expectation{action: "unsupported", warning: []string{`container "app"`, "cgo"}}},
		{"musl", fromTar("musl"), agentOnly},
		{"dynamic", func(*testing.T) map[string]string {
			// shell's image with ENTRYPOINT /bin/sleep, CMD 3600 (testregistry seed).
			return map[string]string{
				"static-go.goinject.io/app":  "false",
				"shell.goinject.io/app":      "/bin/sh",
				"libc.goinject.io/app":       "glibc",
				"entrypoint.goinject.io/app": `["/bin/sleep"]`,
				"cmd.goinject.io/app":        `["3600"]`,
			}
		}, agentOnly},
		{"zstd", fromTar("distroless"), tini},
		{"path-symlink", fromTar("path-symlink"), expectation{action: "shell-wrapper", command: shellWrapper("server"), args: []string{"run", "--verbose"}, ptrace: true, mount: true}},
	}

	t.Run("cloud-native", func(t *testing.T) {
		g := startGoinject(t, cfg)
		twin := startGoinject(t, cfg, "--no-registry")
		var table []string
		for _, c := range cases {
			t.Run(c.fixture, func(t *testing.T) {
				repo := "goinject/" + c.fixture
				image := reg.Main + "/" + repo + ":test"
				a := g.review(t, newPod(image))
				checkExpectation(t, a, c.want)
				checkFetched(t, a, "fetched", reg.seed[repo+":test"])
				lines := g.logs.waitN(5*time.Second, 1, lookupOf(repo))
				if len(lines) != 1 {
					t.Fatalf("%d registry lookup lines for %s, want 1", len(lines), repo)
				}
				l := lines[0]
				if l.str("result") != "ok" || l.str("digest") != reg.seed[repo+":test"] || l.fields["tagCached"] != false {
					t.Errorf("lookup line %s: want result ok, tagCached false, digest %s", l.raw, reg.seed[repo+":test"])
				}
				table = append(table, fmt.Sprintf("%-13s review %5d ms, lookup %5.0f ms, %9.0f bytes", c.fixture, a.Elapsed.Milliseconds(), l.num("ms"), l.num("bytes")))

				ann := twin.review(t, newPod(image, withAnnotations(c.annot(t))))
				checkExpectation(t, ann, c.want)
				compareWithAnnotated(t, a, ann)
			})
		}
		t.Logf("cold lookups (cloud-native):\n  %s", strings.Join(table, "\n  "))
	})

	t.Run("classic", func(t *testing.T) {
		g := startGoinject(t, cfg, "--mode", "classic")
		twin := startGoinject(t, cfg, "--mode", "classic", "--no-registry")
		image := reg.Main + "/goinject/shell:test"
		a := g.review(t, newPod(image))
		checkExpectation(t, a, expectation{action: "ptrace", ptrace: true})
		if a.annotation("goinject.io/injected") != "true" {
			t.Errorf("goinject.io/injected %q, want true", a.annotation("goinject.io/injected"))
		}
		checkFetched(t, a, "fetched", reg.seed["goinject/shell:test"])
		ann := twin.review(t, newPod(image, withAnnotations(tarAnnotations(t, "shell"))))
		compareWithAnnotated(t, a, ann)
		t.Logf("classic shell: action %q, review %d ms", a.action(t), a.Elapsed.Milliseconds())
	})
}

func fromTar(fixture string) func(t *testing.T) map[string]string {
	return func(t *testing.T) map[string]string { return tarAnnotations(t, fixture) }
}

// Test 13: the platforms of the pod choose the index entry; facts that differ
// between the pod's platforms are unknown; the attestation entry is never read.
func TestMultiArch(t *testing.T) {
	reg := sharedRegistry(t)
	g := startGoinject(t, regConfig(reg, 20000, nil))

	index := reg.manifest(t, "goinject/multiarch", "test")
	var attestation string
	byArch := map[string]string{}
	for _, m := range index["manifests"].([]any) {
		entry := m.(map[string]any)
		p, _ := entry["platform"].(map[string]any)
		d, _ := entry["digest"].(string)
		if p["os"] == "unknown" {
			attestation = d
		} else {
			byArch[fmt.Sprint(p["architecture"])] = d
		}
	}
	if attestation == "" || byArch["amd64"] == "" || byArch["arm64"] == "" {
		t.Fatalf("the multiarch index lacks an entry (amd64 %q, arm64 %q, attestation %q): %v", byArch["amd64"], byArch["arm64"], attestation, index)
	}
	image := reg.Main + "/goinject/multiarch:test"

	t.Run("arm64 nodeSelector -> tini (distroless)", func(t *testing.T) {
		a := g.review(t, newPod(image, withNodeSelector("kubernetes.io/os", "linux", "kubernetes.io/arch", "arm64")))
		checkExpectation(t, a, expectation{action: "tini-wrapper", command: tiniWrapper("/server"), args: []string{"serve"}, ptrace: true, mount: true})
		checkFetched(t, a, "fetched", "")
		t.Logf("arm64: status facts %v", a.facts(t))
	})
	t.Run("amd64 nodeSelector -> shell wrapper", func(t *testing.T) {
		a := g.review(t, newPod(image, withNodeSelector("kubernetes.io/arch", "amd64")))
		checkExpectation(t, a, expectation{action: "shell-wrapper", command: shellWrapper("/app/server"), args: []string{"--port", "8080"}, ptrace: true, mount: true})
		checkFetched(t, a, "fetched", "")
	})
	t.Run("no constraint -> the default platform (amd64)", func(t *testing.T) {
		a := g.review(t, newPod(image))
		checkExpectation(t, a, expectation{action: "shell-wrapper", command: shellWrapper("/app/server"), args: []string{"--port", "8080"}, ptrace: true, mount: true})
	})
	t.Run("affinity In [amd64 arm64] -> E unknown", func(t *testing.T) {
		a := g.review(t, newPod(image, withRequiredArch("amd64", "arm64")))
		// static-go true on both; shell, entrypoint and cmd differ -> unknown:
		// the row "static Go, E unknown": warning, SYS_PTRACE + agent mount, entrypoint kept.
		checkExpectation(t, a, expectation{action: "ptrace+agent", ptrace: true, mount: true, warning: []string{`container "app"`, "ENTRYPOINT unknown"}})
		if a.annotation("goinject.io/injected") != "true" {
			t.Errorf("goinject.io/injected %q, want true", a.annotation("goinject.io/injected"))
		}
		checkFetched(t, a, "fetched", "")
		t.Logf("both arches: action %q, warnings %q", a.action(t), a.Warnings)
	})
	t.Run("samearch Docker list, both arches -> scratch facts", func(t *testing.T) {
		a := g.review(t, newPod(reg.Main+"/goinject/samearch:test", withRequiredArch("amd64", "arm64")))
		checkExpectation(t, a, expectation{action: "unsupported", warning: []string{`container "app"`, "libc none"}})
		checkFetched(t, a, "fetched", "")
	})

	entries := reg.settledLog(t, 200*time.Millisecond, 5*time.Second)
	for _, e := range entries {
		if strings.Contains(e.Path, attestation) {
			t.Errorf("the attestation entry was read: %s", e)
		}
	}
	// Facts are cached per platform manifest digest (and per index digest with
	// the platforms): three lookups of multiarch (arm64, amd64, both; the
	// unconstrained pod is a hit of the amd64 one) read each platform's manifest
	// once, and the tag is resolved once (HEAD), then cached.
	for arch, d := range byArch {
		if n := len(selectLog(entries, func(e logEntry) bool { return isManifestGet(e) && strings.HasSuffix(e.Path, d) })); n != 1 {
			t.Errorf("the %s manifest was fetched %d times, want 1:%s", arch, n, logText(entries))
		}
	}
	heads := selectLog(entries, func(e logEntry) bool { return isManifestHead(e) && strings.Contains(e.Path, "/multiarch/") })
	if len(heads) != 1 {
		t.Errorf("%d manifest HEADs of multiarch:test, want 1 (tag cached):%s", len(heads), logText(entries))
	}
	if n := len(g.logs.matching(lookupOf("goinject/multiarch"))); n != 3 {
		t.Errorf("%d registry lookups of multiarch, want 3 (arm64, amd64, both)", n)
	}
}

// inspectJSON runs `goinject inspect --json [flags] target` and returns its
// document and exit status (0, or 1 for an unsupported image; others fail the test).
func inspectJSON(t *testing.T, flags []string, target string) (map[string]any, int) {
	t.Helper()
	args := append(append([]string{"inspect", "--json"}, flags...), target)
	cmd := exec.Command(goinjectBin, args...)
	tmp := t.TempDir()
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	out, err := cmd.Output()
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("goinject %s left %d entries in its TMPDIR", strings.Join(args, " "), len(left))
	}
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 1 {
			stderr := ""
			if ok {
				stderr = string(ee.Stderr)
			}
			t.Fatalf("goinject %s: %v\n%s", strings.Join(args, " "), err, stderr)
		}
		code = 1
	}
	var doc map[string]any
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("goinject %s: not JSON: %v", strings.Join(args, " "), err)
	}
	return doc, code
}

// Test 15: `goinject inspect --json REF` reads from the registry the facts that
// `goinject inspect --json` reads from the image's tarball.
func TestInspectFromRegistry(t *testing.T) {
	reg := sharedRegistry(t)
	cfgPath := filepath.Join(t.TempDir(), "config.json")
	data, _ := json.Marshal(regConfig(reg, 20000, nil))
	if err := writeFile(cfgPath, data); err != nil {
		t.Fatal(err)
	}
	// Fields that name the source rather than describe the image.
	naming := []string{"image", "digest", "format"}
	cases := []struct{ repo, tar string }{
		{"shell", "shell"},
		{"distroless", "distroless"},
		{"scratch", "scratch"}, // unsupported: exit status 1 both ways
		{"musl", "musl"},
		{"path-symlink", "path-symlink"},
		{"zstd", "distroless"},
		{"multiarch", "shell"}, // the default platform, linux/amd64
	}
	for _, c := range cases {
		t.Run(c.repo, func(t *testing.T) {
			ref := reg.Main + "/goinject/" + c.repo + ":test"
			fromReg, regCode := inspectJSON(t, []string{"--config", cfgPath}, ref)
			fromTarball, tarCode := inspectJSON(t, nil, filepath.Join(imagesDir, c.tar+".tar"))
			if regCode != tarCode {
				t.Errorf("exit status %d from the registry, %d from the tarball", regCode, tarCode)
			}
			if fromReg["digest"] != reg.seed["goinject/"+c.repo+":test"] {
				t.Errorf("digest %v, want %s", fromReg["digest"], reg.seed["goinject/"+c.repo+":test"])
			}
			compareFacts(t, fromReg, fromTarball, naming)
		})
	}
	t.Run("multiarch --platform linux/arm64", func(t *testing.T) {
		ref := reg.Main + "/goinject/multiarch:test"
		fromReg, _ := inspectJSON(t, []string{"--config", cfgPath, "--platform", "linux/arm64"}, ref)
		fromTarball, _ := inspectJSON(t, nil, filepath.Join(imagesDir, "distroless.tar"))
		if fromReg["architecture"] != "arm64" {
			t.Errorf("architecture %v, want arm64", fromReg["architecture"])
		}
		// The arm64 entry holds the (amd64-built) distroless image: all else equal.
		compareFacts(t, fromReg, fromTarball, append(naming, "architecture"))
	})
	t.Run("--catalog names the reference and notes the digest read", func(t *testing.T) {
		ref := reg.Main + "/goinject/distroless:test"
		cmd := exec.Command(goinjectBin, "inspect", "--catalog", "--config", cfgPath, ref)
		cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir())
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("goinject inspect --catalog %s: %v", ref, err)
		}
		var rule struct {
			Match map[string]string `json:"match"`
			Facts map[string]any    `json:"facts"`
			Note  string            `json:"note"`
		}
		if err := json.Unmarshal(out, &rule); err != nil {
			t.Fatalf("not a rule: %v\n%s", err, out)
		}
		digest := reg.seed["goinject/distroless:test"]
		if rule.Match["image"] != ref || rule.Facts["staticGo"] != true || rule.Facts["shell"] != "none" {
			t.Errorf("rule %s", out)
		}
		if !strings.Contains(rule.Note, digest) || !strings.Contains(rule.Note, "linux/amd64") {
			t.Errorf("note %q does not name %s and linux/amd64", rule.Note, digest)
		}
	})
}

func compareFacts(t *testing.T, got, want map[string]any, ignore []string) {
	t.Helper()
	g, w := map[string]any{}, map[string]any{}
	for k, v := range got {
		g[k] = v
	}
	for k, v := range want {
		w[k] = v
	}
	for _, k := range ignore {
		delete(g, k)
		delete(w, k)
	}
	if !reflect.DeepEqual(g, w) {
		gj, _ := json.MarshalIndent(g, "", " ")
		wj, _ := json.MarshalIndent(w, "", " ")
		t.Errorf("facts differ (apart from %v):\nregistry: %s\ntarball:  %s", ignore, gj, wj)
	}
}

// Facts from the registry fill only what annotations and the catalog left
// unknown, fact by fact; a pod whose facts are all known sends no request.
func TestFactPrecedence(t *testing.T) {
	reg := sharedRegistry(t)
	image := reg.Main + "/goinject/shell:test"
	cfg := regConfig(reg, 20000, nil)
	cfg["catalog"] = []any{map[string]any{
		"match": map[string]any{"glob": reg.Main + "/goinject/path-symlink:*"},
		"facts": map[string]any{"shell": "/bin/dash"},
	}}
	g := startGoinject(t, cfg)

	t.Run("annotation wins over the registry", func(t *testing.T) {
		a := g.review(t, newPod(image, withAnnotations(map[string]string{"shell.goinject.io/app": "/bin/bash"})))
		checkExpectation(t, a, expectation{action: "shell-wrapper", command: []string{"/bin/bash", "-c", `exec "$0" "$@"`, "/app/server"},
			args: []string{"--port", "8080"}, ptrace: true, mount: true})
		from := strs(a.facts(t)["from"])
		if !slices.Contains(from, "annotations") || !slices.Contains(from, "registry") {
			t.Errorf("facts.app.from %q, want annotations and registry", from)
		}
	})
	t.Run("catalog wins over the registry", func(t *testing.T) {
		a := g.review(t, newPod(reg.Main+"/goinject/path-symlink:test"))
		checkExpectation(t, a, expectation{action: "shell-wrapper", command: []string{"/bin/dash", "-c", `exec "$0" "$@"`, "server"},
			args: []string{"run", "--verbose"}, ptrace: true, mount: true})
		from := strs(a.facts(t)["from"])
		if !slices.Contains(from, "catalog") || !slices.Contains(from, "registry") {
			t.Errorf("facts.app.from %q, want catalog and registry", from)
		}
	})
	t.Run("pod command set: the entrypoint is not needed", func(t *testing.T) {
		// static-go and shell from annotations, E from the pod: nothing to look up.
		reg.clearLog(t)
		pod := newPod(reg.Main+"/goinject/distroless:test", withAnnotations(map[string]string{
			"goinject.io/static-go": "true", "goinject.io/shell": "/bin/sh", "goinject.io/libc": "glibc", "goinject.io/cgo": "false",
		}))
		pod["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["command"] = []any{"/server", "serve"}
		a := g.review(t, pod)
		if entries := reg.log(t); len(entries) != 0 {
			t.Errorf("facts all known, yet requests were sent:%s", logText(entries))
		}
		if _, ok := a.status(t)["facts"]; ok {
			t.Errorf("status has facts although the registry was not asked: %v", a.status(t))
		}
		if want := shellWrapper("/server"); !reflect.DeepEqual(a.command(), want) {
			t.Errorf("command %q, want %q", a.command(), want)
		}
	})
}
