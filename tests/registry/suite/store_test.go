package suite

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The layer store: two images on the same base share its layer, and the
// second lookup fetches only what is its own.
func TestSharedLayerFetchedOnce(t *testing.T) {
	reg := sharedRegistry(t)
	g := startGoinject(t, regConfig(reg, 20000, nil))
	shell := reg.layerDigests(t, "goinject/shell", "test")
	pathSymlink := reg.layerDigests(t, "goinject/path-symlink", "test")
	shared := map[string]bool{}
	for _, d := range shell {
		for _, e := range pathSymlink {
			if d == e {
				shared[d] = true
			}
		}
	}
	if len(shared) == 0 {
		t.Fatalf("the fixtures share no layer: %v %v", shell, pathSymlink)
	}
	reg.clearLog(t)
	first := g.review(t, newPod(reg.Main+"/goinject/shell:test"))
	checkFetched(t, first, "fetched", reg.seed["goinject/shell:test"])
	second := g.review(t, newPod(reg.Main+"/goinject/path-symlink:test"))
	checkFetched(t, second, "fetched", reg.seed["goinject/path-symlink:test"])
	if got := second.command(); len(got) < 4 || got[3] != "server" {
		t.Errorf("path-symlink from the store: command %q, want the shell wrapper of server", got)
	}
	for d := range shared {
		gets := selectLog(reg.log(t), func(e logEntry) bool { return isBlobGet(e) && strings.HasSuffix(e.Path, d) })
		if len(gets) != 1 {
			t.Errorf("the shared layer %s was fetched %d times, want 1:%s", d[:19], len(gets), logText(reg.log(t)))
		}
	}
	ms := g.metrics(t)
	if ms.sum("goinject_facts_cache_hits_total", "cache", "layers") < float64(len(shared)) ||
		ms.sum("goinject_facts_cache_entries", "cache", "layers") < 1 {
		t.Errorf("the layer store's metrics:\n%s", ms.dump("goinject_facts_cache"))
	}
}

// Spools and stores a dead goinject left in TMPDIR (their names carry its
// pid) are removed when the next one starts; those of a live process are not.
func TestLeftoversOfDeadProcessesAreSwept(t *testing.T) {
	reg := sharedRegistry(t)
	const dead = "999999"
	if _, err := os.Stat("/proc/" + dead); err == nil {
		t.Skip("pid " + dead + " is alive here")
	}
	selfPid := strings.Fields(readFile(t, "/proc/self/stat"))[0] // this test process: alive
	var tmp string
	g := startGoinjectWith(t, regConfig(reg, 20000, nil), func(dir string) {
		tmp = dir
		for _, name := range []string{
			"goinject-lookup-" + dead + "-abcdef/blobs/sha256/00",
			"goinject-layers-" + dead + "-abcdef/00",
			"goinject-lookup-" + selfPid + "-abcdef/keep",
		} {
			p := filepath.Join(dir, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	})
	g.review(t, newPod(reg.Main+"/goinject/musl:test"))
	for _, gone := range []string{"goinject-lookup-" + dead + "-abcdef", "goinject-layers-" + dead + "-abcdef"} {
		if _, err := os.Stat(filepath.Join(tmp, gone)); !os.IsNotExist(err) {
			t.Errorf("%s is still there: %v", gone, err)
		}
	}
	kept := filepath.Join(tmp, "goinject-lookup-"+selfPid+"-abcdef")
	if _, err := os.Stat(filepath.Join(kept, "keep")); err != nil {
		t.Errorf("the spool of a live process was removed: %v", err)
	}
	// What this test put there is its own to remove (the suite checks TMPDIR is left empty).
	os.RemoveAll(kept)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
