package main

// The probe agent on the host: what it writes, and that it does nothing otherwise.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

type probeRecord struct {
	Probe   string  `json:"probe"`
	Version int     `json:"version"`
	Libc    string  `json:"libc"`
	Pid     int     `json:"pid"`
	Ppid    int     `json:"ppid"`
	UID     int     `json:"uid"`
	GID     int     `json:"gid"`
	Exe     *string `json:"exe"`
	Argv0   *string `json:"argv0"`
	file    string
}

func (r probeRecord) exe() string {
	if r.Exe == nil {
		return "(null)"
	}
	return *r.Exe
}

// readProbeDir reads every record in dir; a file that is not a record is an error.
func readProbeDir(dir string) ([]probeRecord, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var recs []probeRecord
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		var r probeRecord
		dec := json.NewDecoder(strings.NewReader(string(data)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil || r.Probe != "goinject-probe" || !strings.HasSuffix(string(data), "}\n") {
			return nil, fmt.Errorf("%s is not a probe record: %q", e.Name(), data)
		}
		if !strings.HasPrefix(e.Name(), strconv.Itoa(r.Pid)+"-") || !strings.HasSuffix(e.Name(), ".json") {
			return nil, fmt.Errorf("%s: the name does not start with the pid %d", e.Name(), r.Pid)
		}
		r.file = e.Name()
		recs = append(recs, r)
	}
	return recs, nil
}

type probeRun struct {
	env    []string
	uid    int // run as this user when > 0
	argv   []string
	stdout string
	stderr string
	err    error
}

func (p *probeRun) run(ctx context.Context) {
	cmd := exec.CommandContext(ctx, p.argv[0], p.argv[1:]...)
	cmd.Env = append([]string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}, p.env...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if p.uid > 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(p.uid), Gid: uint32(p.uid)}}
	}
	p.err = cmd.Run()
	p.stdout, p.stderr = out.String(), errOut.String()
}

func (s *suite) probeTests(ctx context.Context) {
	const g = "probe (host)"
	glibc := filepath.Join(s.probeDir, "glibc", "libgoinject-probe.so")
	if !s.check(g, "glibc build present", fileExists(glibc), "%s is missing (make probe)", glibc) {
		return
	}
	dir := func(name string) string {
		d := filepath.Join(s.work, "probe-host", name)
		os.MkdirAll(d, 0o755)
		return d
	}
	preload := "LD_PRELOAD=" + glibc

	// A shell that prints its pid, then execs a dynamically linked program: two processes
	// (the same pid twice), two records, nothing overwritten.
	d := dir("exec")
	p := &probeRun{env: []string{preload, "GOINJECT_PROBE_DIR=" + d}, argv: []string{"/bin/sh", "-c", `echo $$; exec /bin/true`}}
	p.run(ctx)
	recs, err := readProbeDir(d)
	s.check(g, "runs quietly with the probe loaded", p.err == nil && p.stderr == "", "err %v stderr %q", p.err, p.stderr)
	if s.check(g, "one record per process, also for an exec in the same pid", err == nil && len(recs) == 2, "%v %v", err, recs) {
		pid := strings.TrimSpace(p.stdout)
		exes := map[string]bool{}
		ok := true
		for _, r := range recs {
			exes[r.exe()] = true
			ok = ok && strconv.Itoa(r.Pid) == pid && r.Libc == "glibc" && r.Ppid > 0 && r.UID == os.Getuid()
		}
		s.check(g, "records hold the pid, ppid, uid, libc glibc and the executable (dash, then true)",
			ok && exes["/usr/bin/dash"] && exes["/usr/bin/true"] && *recs[0].Argv0 != "", "pid %s, %+v", pid, recs)
	}

	// The static Go program never runs the dynamic loader: no record.
	d = dir("static-go")
	p = &probeRun{env: []string{preload, "GOINJECT_PROBE_DIR=" + d}, argv: []string{filepath.Join(s.bin, "goapp"), "x"}}
	p.run(ctx)
	recs, err = readProbeDir(d)
	s.check(g, "a static Go program is not entered (no record)", p.err == nil && err == nil && len(recs) == 0, "%v %v %v", p.err, err, recs)

	// No variable, a missing directory, a file, a directory the process may not write: nothing
	// happens, nothing is printed, the program's own exit status is kept.
	d = dir("unwritable")
	os.Chmod(d, 0o555)
	file := filepath.Join(dir("file"), "not-a-dir")
	os.WriteFile(file, nil, 0o644)
	quiet := []struct {
		name string
		run  probeRun
		dir  string
	}{
		{"without GOINJECT_PROBE_DIR", probeRun{env: []string{preload}}, ""},
		{"with an empty GOINJECT_PROBE_DIR", probeRun{env: []string{preload, "GOINJECT_PROBE_DIR="}}, ""},
		{"with a missing directory", probeRun{env: []string{preload, "GOINJECT_PROBE_DIR=" + filepath.Join(d, "missing")}}, ""},
		{"with a file for a directory", probeRun{env: []string{preload, "GOINJECT_PROBE_DIR=" + file}}, ""},
	}
	if os.Getuid() == 0 {
		quiet = append(quiet, struct {
			name string
			run  probeRun
			dir  string
		}{"with a directory the user may not write", probeRun{env: []string{preload, "GOINJECT_PROBE_DIR=" + d}, uid: 65534}, d})
	}
	for _, q := range quiet {
		q.run.argv = []string{"/bin/sh", "-c", "exit 3"}
		q.run.run(ctx)
		code := -1
		if ee, ok := q.run.err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		extra := 0
		if q.dir != "" {
			r, _ := readProbeDir(q.dir)
			extra = len(r)
		}
		s.check(g, "does nothing "+q.name, code == 3 && q.run.stdout == "" && q.run.stderr == "" && extra == 0,
			"exit %d stdout %q stderr %q records %d", code, q.run.stdout, q.run.stderr, extra)
	}
	entries, _ := os.ReadDir(filepath.Dir(file))
	s.check(g, "wrote nothing next to a file named as the directory", len(entries) == 1, "%d entries", len(entries))

	// Many processes at once: one file each.
	d = dir("many")
	var wg sync.WaitGroup
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			(&probeRun{env: []string{preload, "GOINJECT_PROBE_DIR=" + d}, argv: []string{"/bin/true"}}).run(ctx)
		}()
	}
	wg.Wait()
	recs, err = readProbeDir(d)
	s.check(g, "32 processes at once leave 32 records", err == nil && len(recs) == 32, "%v, %d records", err, len(recs))

	// The musl build, when this machine has musl-gcc: loaded by musl's loader into a musl program.
	musl := filepath.Join(s.probeDir, "musl", "libgoinject-probe.so")
	muslGcc, lookErr := exec.LookPath("musl-gcc")
	if !fileExists(musl) || lookErr != nil {
		fmt.Fprintf(s.out, "skip %s: musl build (no musl-gcc here; the musl probe is checked in the musl image)\n", g)
		return
	}
	src := filepath.Join(s.work, "probe-host", "hello.c")
	prog := filepath.Join(s.work, "probe-host", "hello-musl")
	os.WriteFile(src, []byte("int main(void) { return 0; }\n"), 0o644)
	_, errOut, err := run(ctx, muslGcc, "-o", prog, src)
	if !s.check(g, "musl test program builds", err == nil, "%v %s", err, errOut) {
		return
	}
	d = dir("musl")
	p = &probeRun{env: []string{"LD_PRELOAD=" + musl, "GOINJECT_PROBE_DIR=" + d}, argv: []string{prog}}
	p.run(ctx)
	recs, err = readProbeDir(d)
	s.check(g, "musl build: one record, libc musl, exe the musl program",
		p.err == nil && err == nil && len(recs) == 1 && recs[0].Libc == "musl" && recs[0].exe() == prog,
		"%v %v %+v", p.err, err, recs)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
