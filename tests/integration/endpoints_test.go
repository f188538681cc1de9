package integration

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestMutateAnswersAdmissionReviewV1AndV1beta1WithJSONPatch(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverConfig{})
	c := s.client()
	for _, version := range []string{v1, v1beta1} {
		uid := "uid-" + strings.ReplaceAll(version, "/", "-")
		r := s.mustPost(t, c, "/mutate", podReview(version, uid, "default"))
		if err := checkPatchedAnswer(r, version, uid); err != nil {
			t.Errorf("%s: %v", version, err)
		}
	}
}

func TestMutateToleratesDoubleSlashAndTimeoutQuery(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverConfig{})
	c := s.client()
	body := podReview(v1, "same-uid", "default")
	want := s.mustPost(t, c, "/mutate", body)
	if err := checkPatchedAnswer(want, v1, "same-uid"); err != nil {
		t.Fatalf("/mutate: %v", err)
	}
	for _, path := range []string{"//mutate", "/mutate?timeout=10s", "//mutate?timeout=10s"} {
		r := s.mustPost(t, c, path, body)
		if err := checkPatchedAnswer(r, v1, "same-uid"); err != nil {
			t.Errorf("%s: %v", path, err)
		} else if !bytes.Equal(r.body, want.body) {
			t.Errorf("%s answered differently from /mutate:\n got %s\nwant %s", path, r.body, want.body)
		}
	}
}

func TestMutateAcceptsJSONContentTypeWithParameters(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverConfig{})
	c := s.client()
	for _, ct := range []string{"application/json; charset=utf-8", "Application/JSON", "application/json;charset=UTF-8"} {
		r := s.mustRequest(t, c, http.MethodPost, "/mutate", ct, podReview(v1, "ct", "default"))
		if err := checkPatchedAnswer(r, v1, "ct"); err != nil {
			t.Errorf("Content-Type %q: %v", ct, err)
		}
	}
}

func TestHealthzAndReadyzAnswer200(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverConfig{})
	c := s.client()
	for _, path := range []string{"/healthz", "/readyz"} {
		r := s.mustGet(t, c, path)
		if r.status != http.StatusOK {
			t.Errorf("GET %s: status %d, want 200: %s", path, r.status, r.body)
		}
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("GET %s: Content-Type %q", path, ct)
		}
	}
}

func TestMetricsArePrometheusTextAndCountReviews(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverConfig{})
	c := s.client()

	r := s.mustGet(t, c, "/metrics")
	if r.status != http.StatusOK {
		t.Fatalf("GET /metrics: status %d", r.status)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("GET /metrics: Content-Type %q, want text/plain", ct)
	}
	for _, name := range []string{
		"goinject_reviews_total", "goinject_review_duration_seconds_bucket",
		"goinject_containers_total", "goinject_skips_total",
		"goinject_certificate_expiry_timestamp_seconds", "goinject_build_info",
	} {
		if !bytes.Contains(r.body, []byte("\n"+name)) {
			t.Errorf("/metrics has no %s", name)
		}
	}
	before := parseMetrics(t, r.body)

	notAfter := readCert(t, s.certs.cert).NotAfter.Unix()
	if got := before["goinject_certificate_expiry_timestamp_seconds"]; got != float64(notAfter) {
		t.Errorf("goinject_certificate_expiry_timestamp_seconds = %v, want the certificate's NotAfter %d", got, notAfter)
	}
	buildInfo := false
	for series, v := range before {
		if strings.HasPrefix(series, "goinject_build_info{") && v == 1 &&
			strings.Contains(series, `mode="cloud-native"`) && strings.Contains(series, `version="`) {
			buildInfo = true
		}
	}
	if !buildInfo {
		t.Errorf("no goinject_build_info{version=...,mode=\"cloud-native\"} 1")
	}

	const patched = 3
	for i := 0; i < patched; i++ {
		if err := s.review(c, fmt.Sprintf("m-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	skipped := s.mustPost(t, c, "/mutate", reviewFor(v1, "m-update", "UPDATE", "default", map[string]any{"kind": "Pod"}))
	if skipped.status != http.StatusOK {
		t.Fatalf("UPDATE review: status %d: %s", skipped.status, skipped.body)
	}
	after := s.metrics(t)

	// Expected change of each series; 0: present and unchanged.
	increases := map[string]float64{
		`goinject_reviews_total{result="patched"}`:             patched,
		`goinject_reviews_total{result="skipped"}`:             1,
		`goinject_skips_total{reason="not-pod-create"}`:        1,
		`goinject_containers_total{action="shell-wrapper"}`:    patched,
		`goinject_review_duration_seconds_count`:               patched + 1,
		`goinject_review_duration_seconds_bucket{le="+Inf"}`:   patched + 1,
		`goinject_http_responses_total{code="200"}`:            patched + 1 + 1, // + the first /metrics
		`goinject_certificate_expiry_timestamp_seconds`:        0,
		`goinject_certificate_reloads_total{result="success"}`: 0,
		`goinject_certificate_reloads_total{result="failure"}`: 0,
		`goinject_review_duration_seconds_bucket{le="1"}`:      patched + 1,
		`goinject_reviews_total{result="invalid"}`:             0,
		`goinject_containers_total{action="tini-wrapper"}`:     0,
		`goinject_skips_total{reason="namespace"}`:             0,
		`goinject_http_responses_total{code="400"}`:            0,
		`goinject_inflight_reviews`:                            0,
		`goinject_reviews_total{result="failed-open"}`:         0,
		`goinject_reviews_total{result="unchanged"}`:           0,
		`goinject_containers_total{action="ptrace+agent"}`:     0,
		`goinject_skips_total{reason="pod-opt-out"}`:           0,
		`goinject_http_responses_total{code="other"}`:          0,
	}
	for series, want := range increases {
		b, okb := before[series]
		a, oka := after[series]
		if !okb || !oka {
			t.Errorf("%s missing from /metrics", series)
			continue
		}
		if a-b != want {
			t.Errorf("%s went from %v to %v, want +%v", series, b, a, want)
		}
	}
	if after["goinject_review_duration_seconds_sum"] <= before["goinject_review_duration_seconds_sum"] {
		t.Errorf("goinject_review_duration_seconds_sum did not grow")
	}
}

// The server and `goinject review` share the engine: same input, same bytes out.
func TestServerAnswerIsByteIdenticalToReviewCLI(t *testing.T) {
	t.Parallel()
	optedOut := map[string]any{
		"kind":     "Pod",
		"metadata": map[string]any{"name": "quiet", "annotations": map[string]any{"goinject.io/inject": "false"}},
		"spec":     map[string]any{"containers": []any{map[string]any{"name": "a", "image": "x"}}},
	}
	unknownEntrypoint := map[string]any{
		"kind":     "Pod",
		"metadata": map[string]any{"name": "unknown", "annotations": map[string]any{"goinject.io/static-go": "true"}},
		"spec":     map[string]any{"containers": []any{map[string]any{"name": "a", "image": "x"}}},
	}
	noFacts := map[string]any{
		"kind":     "Pod",
		"metadata": map[string]any{"generateName": "web-"},
		"spec":     map[string]any{"containers": []any{map[string]any{"name": "web", "image": "nginx", "args": []any{"-g", "daemon off;"}}}},
	}
	inputs := []struct {
		name, query string
		cliFlags    []string
		body        []byte
	}{
		{"patched v1", "", nil, podReview(v1, "cli-1", "default")},
		{"patched v1beta1", "", nil, podReview(v1beta1, "cli-2", "team-a")},
		{"pod security enforced", "?podSecurity=restricted", []string{"--pod-security-enforced"}, podReview(v1, "cli-3", "default")},
		{"pod security enforced by path", "/pod-security-enforced", []string{"--pod-security-enforced"}, podReview(v1, "cli-3p", "default")},
		{"excluded namespace", "", nil, podReview(v1, "cli-4", "kube-system")},
		{"update skipped", "", nil, reviewFor(v1, "cli-5", "UPDATE", "default", noFacts)},
		{"opted out", "", nil, reviewFor(v1, "cli-6", "CREATE", "default", optedOut)},
		{"entrypoint unknown", "", nil, reviewFor(v1, "cli-7", "CREATE", "default", unknownEntrypoint)},
		{"no facts", "", nil, reviewFor(v1beta1, "cli-8", "CREATE", "default", noFacts)},
	}
	for _, mode := range []string{"cloud-native", "classic"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, serverConfig{args: []string{"--mode", mode}})
			c := s.client()
			dir := t.TempDir()
			for i, in := range inputs {
				file := filepath.Join(dir, strings.ReplaceAll(in.name, " ", "-")+".json")
				if err := os.WriteFile(file, in.body, 0o644); err != nil {
					t.Fatal(err)
				}
				args := append(append([]string{"review", "--no-registry", "--mode", mode}, in.cliFlags...), file)
				cmd := goinjectCommand(args...)
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				cli, err := cmd.Output()
				if err != nil {
					t.Fatalf("%s: %v: %v\n%s", in.name, cmd.Args, err, stderr.Bytes())
				}
				r := s.mustPost(t, c, "/mutate"+in.query, in.body)
				if r.status != http.StatusOK {
					t.Errorf("%s: status %d: %s", in.name, r.status, r.body)
				}
				if !bytes.Equal(r.body, cli) {
					t.Errorf("%s (%d): server and `goinject review` differ\nserver: %s\n   cli: %s", in.name, i, r.body, cli)
				}
			}
		})
	}
	// Both refuse what is not an AdmissionReview: 400 from the server, exit 2 from the CLI.
	t.Run("not a review", func(t *testing.T) {
		t.Parallel()
		file := filepath.Join(t.TempDir(), "bad.json")
		if err := os.WriteFile(file, []byte(`{"kind":"Pod"}`), 0o644); err != nil {
			t.Fatal(err)
		}
		err := goinjectCommand("review", file).Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 2 {
			t.Errorf("goinject review of a Pod: %v, want exit status 2", err)
		}
	})
}

// With a cluster-wide Pod Security default, every namespace enforces it unless it is exempt
// or the webhook configuration routes it as labelled privileged (by path or by query); the
// server and `goinject review` with the matching flag answer alike.
func TestClusterWidePodSecurityDefaultAndThePrivilegedRoute(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	config := filepath.Join(dir, "config.json")
	text := `{"podSecurityDefault": "restricted", "podSecurityExemptNamespaces": ["legacy"]}`
	if err := os.WriteFile(config, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, serverConfig{args: []string{"--config", config}})
	c := s.client()
	cases := []struct {
		name, path, ns string
		enforced       bool
		cliFlags       []string
	}{
		{"default enforces", "/mutate", "team-a", true, nil},
		{"exempt namespace", "/mutate", "legacy", false, nil},
		{"labelled privileged by path", "/mutate/pod-security-privileged", "team-a", false, []string{"--pod-security-privileged"}},
		{"labelled privileged by query", "/mutate?podSecurity=privileged", "team-a", false, []string{"--pod-security-privileged"}},
		{"labelled restricted wins", "/mutate/pod-security-enforced?podSecurity=privileged", "legacy", true, []string{"--pod-security-enforced"}},
	}
	for i, tc := range cases {
		body := podReview(v1, fmt.Sprintf("ps-%d", i), tc.ns)
		file := filepath.Join(dir, fmt.Sprintf("review-%d.json", i))
		if err := os.WriteFile(file, body, 0o644); err != nil {
			t.Fatal(err)
		}
		args := append(append([]string{"review", "--no-registry", "--config", config}, tc.cliFlags...), file)
		cmd := goinjectCommand(args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		cli, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v: %v\n%s", tc.name, cmd.Args, err, stderr.Bytes())
		}
		r := s.mustPost(t, c, tc.path, body)
		if r.status != http.StatusOK {
			t.Fatalf("%s: status %d: %s", tc.name, r.status, r.body)
		}
		if !bytes.Equal(r.body, cli) {
			t.Errorf("%s: server and `goinject review` differ\nserver: %s\n   cli: %s", tc.name, r.body, cli)
		}
		if got := strings.Contains(string(r.body), "Pod Security level forbids"); got != tc.enforced {
			t.Errorf("%s: Pod Security warning %v, want %v: %s", tc.name, got, tc.enforced, r.body)
		}
	}
}
