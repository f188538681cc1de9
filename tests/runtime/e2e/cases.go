package main

// The cases: image x mode. Each builds a pod, has `goinject mutate` mutate it, runs the result
// with podrun and checks what happened inside the containers.

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
)

// The contract's hostile arguments, as the pod states them, and as the program must receive them
// once the kubelet expanded them with GREETING=hello and POD_NAME="$(GREETING) world".
var hostileArgs = []string{
	`--greeting=it's "quoted"`, "two words", "$(POD_NAME)", "$(UNDEFINED_VAR)", "$$HOME",
	"$$(POD_NAME)", "$$$(GREETING)", "`id`", "$(echo pwned)", "$HOME", "line one\nline two", "",
	"tab\there", "semi;colon && rm -rf /", "ünïcødé ✓", `\backslash\`, "-", "--", "$", "$(",
	"end$", `'single' "double"`, "*", "~", " leading and trailing ",
}
var hostileWant = []string{
	`--greeting=it's "quoted"`, "two words", "hello world", "$(UNDEFINED_VAR)", "$HOME",
	"$(POD_NAME)", "$hello", "`id`", "$(echo pwned)", "$HOME", "line one\nline two", "",
	"tab\there", "semi;colon && rm -rf /", "ünïcødé ✓", `\backslash\`, "-", "--", "$", "$(",
	"end$", `'single' "double"`, "*", "~", " leading and trailing ",
}

// argvVariant is one row of the Kubernetes argv table.
type argvVariant struct {
	name    string
	command []string // nil: unset
	args    []string // nil: unset
	want    []string // what the program must receive
}

func concat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

var (
	// command unset, args set: image ENTRYPOINT + args.
	variantArgs = argvVariant{"args only", nil, hostileArgs, concat([]string{"/app"}, hostileWant)}
	// command and args set: command + args.
	variantCommandArgs = argvVariant{"command and args", []string{"/app", "$(GREETING)", "--"}, hostileArgs,
		concat([]string{"/app", "hello", "--"}, hostileWant)}
	// neither: image ENTRYPOINT + CMD, which the kubelet does not expand.
	variantImage = argvVariant{"image ENTRYPOINT and CMD", nil, nil, concat([]string{"/app"}, imageCmd)}
	// command only, one string: the image CMD is ignored (and a wrapper omits args).
	variantCommandOnly = argvVariant{"command only", []string{"/app"}, nil, []string{"/app"}}
)

type caseDef struct {
	image   string // test image
	label   string // row of the evidence table
	mode    string
	shell   string // overrides the image's shell fact when set
	variant argvVariant
	action  string // what goinject must do with the container
	flavor  string // libc flavor of the probe and tini
	warning string // the warning goinject must give (unsupported images)
}

var cases = []caseDef{
	{"debian", "debian (sh, glibc)", "classic", "", variantArgs, "ptrace", "glibc", ""},
	{"debian", "debian (sh, glibc)", "cloud-native", "", variantArgs, "shell-wrapper", "glibc", ""},
	{"distroless", "distroless (no shell, glibc)", "classic", "", variantCommandArgs, "ptrace", "glibc", ""},
	{"distroless", "distroless (no shell, glibc)", "cloud-native", "", variantCommandArgs, "tini-wrapper", "glibc", ""},
	{"musl", "musl (sh, musl)", "classic", "", variantImage, "ptrace", "musl", ""},
	{"musl", "musl (sh, musl)", "cloud-native", "", variantImage, "shell-wrapper", "musl", ""},
	{"musl", "musl, shell fact none", "cloud-native", "none", variantCommandArgs, "tini-wrapper", "musl", ""},
	{"scratch", "scratch (no libc)", "classic", "", variantArgs, "unsupported", "glibc", "image has no C library (libc none)"},
	{"scratch", "scratch (no libc)", "cloud-native", "", variantArgs, "unsupported", "glibc", "image has no C library (libc none)"},
	{"cgo", "static cgo (debian)", "classic", "", variantArgs, "unsupported", "glibc", "static Go binary with cgo cannot be monitored"},
	{"cgo", "static cgo (debian)", "cloud-native", "", variantArgs, "unsupported", "glibc", "static Go binary with cgo cannot be monitored"},
}

type evidenceRow struct {
	image, mode, action, loadedIn, control, signal string
}

const (
	probeMount   = "/probe"
	startedMark  = `"event":"started"`
	capSysPtrace = 19
)

func (c caseDef) id() string {
	id := c.image + "-" + c.mode
	if c.shell != "" {
		id += "-shell-" + c.shell
	}
	return id
}

func (c caseDef) wrapped() bool { return c.action == "shell-wrapper" || c.action == "tini-wrapper" }

// caseWorkers pods run at a time: the time goes into Docker starting and stopping containers.
const caseWorkers = 3

// caseJobs makes one job per case of the table, which runs run; a case whose image could not
// be built is one failed check instead.
func (s *suite) caseJobs(run func(cs *suite, c caseDef, i int, group string)) []func(*suite) {
	jobs := make([]func(*suite), 0, len(cases)+4)
	for i, c := range cases {
		i, c := i, c
		group := c.label + " / " + c.mode
		if why, broken := s.brokenImgs[c.image]; broken {
			jobs = append(jobs, func(cs *suite) { cs.check(group, "image usable", false, "image %s: %s", c.image, why) })
			continue
		}
		jobs = append(jobs, func(cs *suite) { run(cs, c, i, group) })
	}
	return jobs
}

// runCases runs the cases in parallel, each reporting into its own copy of the suite, and
// prints their checks in the order of the table.
func (s *suite) runCases(ctx context.Context) {
	jobs := s.caseJobs(func(cs *suite, c caseDef, i int, group string) { cs.runCase(ctx, c, i, group) })
	if _, broken := s.brokenImgs["debian"]; !broken {
		jobs = append(jobs, func(cs *suite) { cs.rootfsProof(ctx) })
	}
	s.runJobs(jobs)
}

func (s *suite) config(c caseDef) map[string]any {
	return map[string]any{
		"agent": map[string]any{
			"image":           s.pinned,
			"imagePullPolicy": "Never",
			"env": []any{
				map[string]any{"name": "LD_PRELOAD", "value": "/goinject-agent/probe/" + c.flavor + "/libgoinject-probe.so"},
				map[string]any{"name": "GOINJECT_PROBE_DIR", "value": probeMount},
			},
		},
	}
}

// pod is the pod a user would write for the image, with the image's facts as annotations.
func (s *suite) pod(c caseDef, name string, v argvVariant, env map[string]string) map[string]any {
	f := s.facts[c.image]
	shell := f.Shell
	if c.shell != "" {
		shell = c.shell
	}
	annotations := map[string]any{
		"static-go.goinject.io/app":  strconv.FormatBool(f.StaticGo),
		"cgo.goinject.io/app":        strconv.FormatBool(f.Cgo),
		"shell.goinject.io/app":      shell,
		"libc.goinject.io/app":       f.Libc,
		"entrypoint.goinject.io/app": jsonString(f.Entrypoint),
		"cmd.goinject.io/app":        jsonString(f.Cmd),
	}
	envList := []any{
		map[string]any{"name": "GREETING", "value": "hello"},
		map[string]any{"name": "POD_NAME", "value": "$(GREETING) world"},
	}
	for _, k := range []string{"GOAPP_SLEEP", "GOAPP_EXIT", "GOAPP_TERM_EXIT"} {
		if v, ok := env[k]; ok {
			envList = append(envList, map[string]any{"name": k, "value": v})
		}
	}
	container := map[string]any{
		"name": "app", "image": s.imageTags[c.image], "imagePullPolicy": "Never",
		"env":          envList,
		"volumeMounts": []any{map[string]any{"name": "probe", "mountPath": probeMount}},
	}
	if v.command != nil {
		container["command"] = v.command
	}
	if v.args != nil {
		container["args"] = v.args
	}
	return map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": name, "namespace": "e2e-runtime", "annotations": annotations},
		"spec": map[string]any{
			"containers":                    []any{container},
			"volumes":                       []any{map[string]any{"name": "probe", "emptyDir": map[string]any{}}},
			"restartPolicy":                 "Never",
			"terminationGracePeriodSeconds": 10,
		},
	}
}

func writeJSON(file string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(file, append(data, '\n'), 0o644)
}

func deepCopy(v map[string]any) map[string]any {
	data, _ := json.Marshal(v)
	var out map[string]any
	json.Unmarshal(data, &out)
	return out
}

// mutate runs `goinject mutate` on the pod; it returns the mutated pod and the warnings.
func (s *suite) mutate(ctx context.Context, dir, mode string, pod, cfg map[string]any) (map[string]any, string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", err
	}
	podFile, cfgFile := filepath.Join(dir, "pod.json"), filepath.Join(dir, "config.json")
	if err := writeJSON(podFile, pod); err != nil {
		return nil, "", err
	}
	if err := writeJSON(cfgFile, cfg); err != nil {
		return nil, "", err
	}
	out, warnings, err := run(ctx, s.goinject, "mutate", "--mode", mode, "--config", cfgFile, podFile)
	os.WriteFile(filepath.Join(dir, "mutated.json"), []byte(out), 0o644)
	os.WriteFile(filepath.Join(dir, "warnings.txt"), []byte(warnings), 0o644)
	if err != nil {
		return nil, warnings, fmt.Errorf("goinject mutate: %v: %s", err, warnings)
	}
	var mutated map[string]any
	if err := json.Unmarshal([]byte(out), &mutated); err != nil {
		return nil, warnings, err
	}
	return mutated, warnings, nil
}

// The parts of podrun's result.json the checks read.
type podResult struct {
	Volumes        map[string]string `json:"volumes"`
	InitContainers []*ctrResult      `json:"initContainers"`
	Containers     []*ctrResult      `json:"containers"`
	Error          string            `json:"error"`
}

type ctrResult struct {
	Name     string          `json:"name"`
	Argv     []string        `json:"argv"`
	StopSent bool            `json:"stopSent"`
	ExitCode *int            `json:"exitCode"`
	Stdout   string          `json:"stdout"`
	Stderr   string          `json:"stderr"`
	Inspect  json.RawMessage `json:"inspect"`
	inspect  dockerInspect
}

type dockerInspect struct {
	State struct {
		ExitCode  int
		OOMKilled bool
	}
	Config struct {
		User  string
		Image string
		Env   []string
	}
	HostConfig struct {
		ReadonlyRootfs bool
		SecurityOpt    []string
		CapAdd         []string
		CapDrop        []string
	}
}

func (r *ctrResult) exit() int {
	if r.ExitCode == nil {
		return -1
	}
	return *r.ExitCode
}

// runPod runs a pod with podrun; stop makes podrun stop it once the program has started.
func (s *suite) runPod(ctx context.Context, dir string, pod map[string]any, stop bool) (*podResult, string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", err
	}
	podFile := filepath.Join(dir, "run-pod.json")
	if err := writeJSON(podFile, pod); err != nil {
		return nil, "", err
	}
	args := []string{"-out", dir, "-timeout", "120s"}
	if stop {
		args = append(args, "-stop-on-log", startedMark)
	}
	_, stderr, runErr := run(ctx, s.podrun, append(args, podFile)...)
	data, err := os.ReadFile(filepath.Join(dir, "result.json"))
	if err != nil {
		return nil, stderr, fmt.Errorf("podrun: %v: %s", runErr, stderr)
	}
	var res podResult
	if err := json.Unmarshal(data, &res); err != nil {
		return nil, stderr, err
	}
	for _, c := range append(append([]*ctrResult{}, res.InitContainers...), res.Containers...) {
		json.Unmarshal(c.Inspect, &c.inspect)
	}
	if runErr != nil {
		return &res, stderr, fmt.Errorf("podrun: %v: %s", runErr, strings.TrimSpace(stderr))
	}
	return &res, stderr, nil
}

// goappStarted is the program's start line.
type goappStarted struct {
	Argv    []string `json:"argv"`
	ArgvHex []string `json:"argvHex"`
	Pid     int      `json:"pid"`
	Ppid    int      `json:"ppid"`
	Exe     string   `json:"exe"`
	CapEff  string   `json:"capEff"`
	Cgo     bool     `json:"cgo"`
}

type goappEvent struct {
	Event  string `json:"event"`
	Signal string `json:"signal"`
	Exit   int    `json:"exit"`
}

func parseGoapp(stdout string) (*goappStarted, []goappEvent, error) {
	var started *goappStarted
	var events []goappEvent
	for _, line := range strings.Split(strings.TrimRight(stdout, "\n"), "\n") {
		var ev goappEvent
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			return nil, nil, fmt.Errorf("stdout line %q: %v", line, err)
		}
		if ev.Event == "started" {
			started = &goappStarted{}
			json.Unmarshal([]byte(line), started)
		} else {
			events = append(events, ev)
		}
	}
	if started == nil {
		return nil, nil, fmt.Errorf("no start line in %q", stdout)
	}
	return started, events, nil
}

// receivedArgv is the argv the program got, byte for byte.
func (g *goappStarted) receivedArgv() []string {
	out := make([]string, len(g.ArgvHex))
	for i, h := range g.ArgvHex {
		b, _ := hex.DecodeString(h)
		out[i] = string(b)
	}
	return out
}

func (g *goappStarted) hasCap(bit uint) bool {
	v, err := strconv.ParseUint(g.CapEff, 16, 64)
	return err == nil && v&(1<<bit) != 0
}

func containerOf(pod map[string]any) map[string]any {
	spec, _ := pod["spec"].(map[string]any)
	list, _ := spec["containers"].([]any)
	if len(list) == 0 {
		return nil
	}
	c, _ := list[0].(map[string]any)
	return c
}

func statusAction(pod map[string]any) string {
	meta, _ := pod["metadata"].(map[string]any)
	ann, _ := meta["annotations"].(map[string]any)
	status, _ := ann["goinject.io/status"].(string)
	var st struct {
		Containers map[string]string `json:"containers"`
	}
	json.Unmarshal([]byte(status), &st)
	return st.Containers["app"]
}

func stringList(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func quoteList(list []string) string {
	data, _ := json.Marshal(list)
	return string(data)
}

// runCase: mutate, check the mutation, run, check the run; for wrapped containers also a run
// that exits by itself and the negative control without the wrapper.
func (s *suite) runCase(ctx context.Context, c caseDef, index int, group string) {
	dir := filepath.Join(s.work, "cases", c.id())
	row := evidenceRow{image: c.label, mode: c.mode, loadedIn: "-", control: "-", signal: "-"}
	defer func() { s.evidence = append(s.evidence, row) }()
	termCode := 40 + index
	env := map[string]string{"GOAPP_SLEEP": "300s", "GOAPP_TERM_EXIT": strconv.Itoa(termCode)}
	pod := s.pod(c, fmt.Sprintf("e2e-%s-%d", c.image, index), c.variant, env)
	mutated, warnings, err := s.mutate(ctx, filepath.Join(dir, "signal"), c.mode, pod, s.config(c))
	if !s.check(group, "goinject mutate", err == nil, "%v", err) {
		return
	}
	action := statusAction(mutated)
	row.action = action
	s.check(group, "action "+c.action, action == c.action, "got %q", action)
	s.checkMutation(group, c, pod, mutated, warnings)
	if c.wrapped() {
		cmd := stringList(containerOf(mutated)["command"])
		if len(cmd) > 0 {
			row.action = fmt.Sprintf("%s: `%s`", action, cmd[0])
		}
	}

	// Run 1: start, check, docker stop.
	res, _, err := s.runPod(ctx, filepath.Join(dir, "signal", "run"), mutated, true)
	if !s.check(group, "pod runs (podrun)", err == nil, "%v", err) {
		return
	}
	if c.mode == "cloud-native" && c.action != "unsupported" {
		s.checkInit(group, c, res)
	} else {
		s.check(group, "no init container", len(res.InitContainers) == 0, "%d init containers", len(res.InitContainers))
	}
	app := res.Containers[0]
	started, events, err := parseGoapp(app.Stdout)
	if !s.check(group, "the Go program started", err == nil, "%v; stderr %q", err, app.Stderr) {
		return
	}
	got := started.receivedArgv()
	s.check(group, "argv exactly as the kubelet hands it over ("+c.variant.name+", "+strconv.Itoa(len(got))+" strings)",
		reflect.DeepEqual(got, c.variant.want), "got %s, want %s", quoteList(got), quoteList(c.variant.want))
	s.check(group, "the program is the static Go binary /app", started.Exe == "/app" && started.Cgo == (c.image == "cgo"),
		"exe %q cgo %t", started.Exe, started.Cgo)

	wantPtrace := c.action != "unsupported"
	s.check(group, fmt.Sprintf("CapEff %s has SYS_PTRACE (bit 19): %t", started.CapEff, wantPtrace),
		started.hasCap(capSysPtrace) == wantPtrace, "CapEff %s", started.CapEff)
	s.check(group, "docker got --cap-add SYS_PTRACE exactly when goinject added it",
		(contains(app.inspect.HostConfig.CapAdd, "SYS_PTRACE") || contains(app.inspect.HostConfig.CapAdd, "CAP_SYS_PTRACE")) == wantPtrace,
		"CapAdd %v", app.inspect.HostConfig.CapAdd)

	signalled := len(events) == 1 && events[0].Event == "signal" && events[0].Signal == "terminated"
	if s.check(group, fmt.Sprintf("docker stop: SIGTERM reached the Go program, exit code %d came back", termCode),
		app.StopSent && signalled && app.exit() == termCode && !app.inspect.State.OOMKilled,
		"stop sent %t, events %+v, exit %d", app.StopSent, events, app.exit()) {
		row.signal = fmt.Sprintf("yes: exit %d as chosen", termCode)
	} else {
		row.signal = fmt.Sprintf("NO (exit %d)", app.exit())
	}

	switch {
	case c.action == "unsupported":
		row.loadedIn = "not injected; warning: " + c.warning
	case c.mode == "classic":
		row.loadedIn = "n/a (classic: the host agent injects)"
	case c.wrapped():
		row.loadedIn = s.checkProbe(group, c, res.Volumes["probe"], started)
	}

	// Run 2: the program exits by itself; its exit code comes back (through the wrapper, if any).
	s.exitRun(ctx, c, index, group, dir)
	if !c.wrapped() {
		return
	}

	// Run 3, the negative control: the same mutated pod with the original command and args.
	s.controlRun(ctx, c, group, dir, pod, mutated, &row)
}

func (s *suite) exitRun(ctx context.Context, c caseDef, index int, group, dir string) {
	exitCode := 20 + index
	pod2 := s.pod(c, fmt.Sprintf("e2e-%s-%d-exit", c.image, index), variantCommandOnly,
		map[string]string{"GOAPP_EXIT": strconv.Itoa(exitCode)})
	mutated2, _, err := s.mutate(ctx, filepath.Join(dir, "exit"), c.mode, pod2, s.config(c))
	if !s.check(group, "exit run: goinject mutate (command [\"/app\"] only)", err == nil && statusAction(mutated2) == c.action, "%v %s", err, statusAction(mutated2)) {
		return
	}
	res2, _, err := s.runPod(ctx, filepath.Join(dir, "exit", "run"), mutated2, false)
	if !s.check(group, "exit run: pod runs", err == nil, "%v", err) {
		return
	}
	app2 := res2.Containers[0]
	st2, _, err := parseGoapp(app2.Stdout)
	s.check(group, fmt.Sprintf("exit run: the program's own exit code %d comes back; argv [\"/app\"], the image CMD ignored", exitCode),
		err == nil && !app2.StopSent && app2.exit() == exitCode && reflect.DeepEqual(st2.receivedArgv(), variantCommandOnly.want),
		"%v exit %d stdout %q", err, app2.exit(), app2.Stdout)
}

func (s *suite) controlRun(ctx context.Context, c caseDef, group, dir string, pod, mutated map[string]any, row *evidenceRow) {
	control := deepCopy(mutated)
	cc := containerOf(control)
	orig := containerOf(pod)
	for _, k := range []string{"command", "args"} {
		if v, ok := orig[k]; ok {
			cc[k] = v
		} else {
			delete(cc, k)
		}
	}
	res3, _, err := s.runPod(ctx, filepath.Join(dir, "control", "run"), control, true)
	if !s.check(group, "control (wrapper removed): pod runs", err == nil, "%v", err) {
		row.control = "did not run"
		return
	}
	app3 := res3.Containers[0]
	st3, _, err := parseGoapp(app3.Stdout)
	if !s.check(group, "control: the Go program started", err == nil, "%v", err) {
		return
	}
	preload := false
	for _, e := range app3.inspect.Config.Env {
		preload = preload || strings.HasPrefix(e, "LD_PRELOAD=/goinject-agent/probe/")
	}
	recs, err := readProbeDir(res3.Volumes["probe"])
	s.check(group, "control: LD_PRELOAD set and the bundle copied, yet the probe recorded nothing (static Go as PID 1)",
		err == nil && preload && len(recs) == 0 && st3.Pid == 1 && len(res3.InitContainers) == 1 && res3.InitContainers[0].exit() == 0,
		"err %v preload %t records %+v pid %d", err, preload, recs, st3.Pid)
	s.check(group, "control: same argv", reflect.DeepEqual(st3.receivedArgv(), c.variant.want), "got %s", quoteList(st3.receivedArgv()))
	if err == nil && len(recs) == 0 {
		row.control = "nothing loaded (Go is PID 1)"
	} else {
		row.control = fmt.Sprintf("%d records", len(recs))
	}
}

// checkMutation checks the mutated pod against the rules for the case.
func (s *suite) checkMutation(group string, c caseDef, pod, mutated map[string]any, warnings string) {
	if c.warning != "" {
		want := `Warning: goinject: container "app": ` + c.warning
		s.check(group, "goinject warned: "+c.warning, strings.Contains(warnings, want), "stderr %q", warnings)
	} else {
		s.check(group, "no warnings", warnings == "", "stderr %q", warnings)
	}
	origSpec, mutSpec := deepCopy(pod)["spec"].(map[string]any), deepCopy(mutated)["spec"].(map[string]any)
	switch {
	case c.action == "unsupported":
		s.check(group, "pod spec left unchanged", reflect.DeepEqual(origSpec, mutSpec), "spec %s", jsonString(mutSpec))
	case c.mode == "classic":
		mc := containerOf(map[string]any{"spec": mutSpec})
		sc := jsonString(mc["securityContext"])
		delete(mc, "securityContext")
		s.check(group, "classic: spec unchanged but for capabilities.add [SYS_PTRACE]",
			reflect.DeepEqual(origSpec, mutSpec) && sc == `{"capabilities":{"add":["SYS_PTRACE"]}}`,
			"securityContext %s, spec %s", sc, jsonString(mutSpec))
	case c.wrapped():
		mc := containerOf(mutated)
		cmd := stringList(mc["command"])
		var prefix []string
		if c.action == "shell-wrapper" {
			prefix = []string{"/bin/sh", "-c", `exec "$0" "$@"`}
		} else {
			prefix = []string{"/goinject-agent/tini/" + c.flavor + "/tini", "--"}
		}
		s.check(group, "wrapper "+quoteList(prefix)+" + E", len(cmd) == len(prefix)+1 && reflect.DeepEqual(cmd[:len(prefix)], prefix),
			"command %s", quoteList(cmd))
		inits, _ := mutSpec["initContainers"].([]any)
		init := map[string]any{}
		if len(inits) == 1 {
			init, _ = inits[0].(map[string]any)
		}
		s.check(group, "init container goinject-agent with the pinned image", init["name"] == "goinject-agent" && init["image"] == s.pinned,
			"initContainers %s", jsonString(inits))
	}
}

// checkInit checks the init container ran, as non-root with a read-only root file system, and
// copied the bundle.
func (s *suite) checkInit(group string, c caseDef, res *podResult) {
	if !s.check(group, "one init container", len(res.InitContainers) == 1, "%d", len(res.InitContainers)) {
		return
	}
	ic := res.InitContainers[0]
	s.check(group, "init container exited 0", ic.exit() == 0, "exit %d stderr %q", ic.exit(), ic.Stderr)
	hc := ic.inspect.HostConfig
	nnp := contains(hc.SecurityOpt, "no-new-privileges=true") || contains(hc.SecurityOpt, "no-new-privileges")
	s.check(group, "init container ran as 65532:65532, read-only root, no-new-privileges, capabilities dropped (docker inspect)",
		ic.inspect.Config.User == "65532:65532" && hc.ReadonlyRootfs && nnp && contains(hc.CapDrop, "ALL"),
		"user %q readonly %t securityOpt %v capDrop %v", ic.inspect.Config.User, hc.ReadonlyRootfs, hc.SecurityOpt, hc.CapDrop)
	s.checkBundle(group, "", res.Volumes["goinject-agent"], c.flavor)
}

// checkBundle: the probe and tini of flavor are in the agent volume at vol (a directory on
// this machine), written by uid 65532; where says which run looked.
func (s *suite) checkBundle(group, where, vol, flavor string) {
	probe := filepath.Join(vol, "probe", flavor, "libgoinject-probe.so")
	tini := filepath.Join(vol, "tini", flavor, "tini")
	var owner uint32 = 1<<32 - 1
	if st, err := os.Stat(probe); err == nil {
		owner = st.Sys().(*syscall.Stat_t).Uid
	}
	tiniStat, tiniErr := os.Stat(tini)
	s.check(group, "the bundle (probe, tini) is in the agent volume"+where+", written by uid 65532",
		owner == 65532 && tiniErr == nil && tiniStat.Mode().Perm() == 0o755, "probe owner %d, tini %v", owner, tiniErr)
}

// checkProbe checks that the dynamically linked parent loaded the probe (its records are in
// probeDir) and that the Go program is its exec'd successor (shell) or its child (tini). It
// returns the evidence table's cell.
func (s *suite) checkProbe(group string, c caseDef, probeDir string, started *goappStarted) string {
	recs, err := readProbeDir(probeDir)
	if !s.check(group, "the probe recorded exactly one process", err == nil && len(recs) == 1, "%v %+v", err, recs) {
		return fmt.Sprintf("NO (%d records)", len(recs))
	}
	r := recs[0]
	f := s.facts[c.image]
	switch c.action {
	case "shell-wrapper":
		ok := s.check(group, fmt.Sprintf("probe (%s) loaded into /bin/sh = %s, pid %d; the Go program is its exec'd successor (same pid)", r.Libc, r.exe(), r.Pid),
			r.Libc == c.flavor && r.exe() == f.ShellExe && r.Argv0 != nil && *r.Argv0 == "/bin/sh" && r.Pid == started.Pid && started.Exe == "/app",
			"record %+v, Go pid %d exe %s", r, started.Pid, started.Exe)
		if ok {
			return fmt.Sprintf("`/bin/sh` (%s, %s) pid %d, then exec of Go in the same pid", r.exe(), r.Libc, r.Pid)
		}
	case "tini-wrapper":
		want := "/goinject-agent/tini/" + c.flavor + "/tini"
		ok := s.check(group, fmt.Sprintf("probe (%s) loaded into %s, pid %d; the Go program (pid %d) is its child", r.Libc, r.exe(), r.Pid, started.Pid),
			r.Libc == c.flavor && r.exe() == want && r.Pid == 1 && started.Ppid == r.Pid && started.Pid != 1,
			"record %+v, Go pid %d ppid %d", r, started.Pid, started.Ppid)
		if ok {
			return fmt.Sprintf("tini (%s) pid %d, Go is its child pid %d", r.Libc, r.Pid, started.Pid)
		}
	}
	return "NO"
}

// rootfsProof runs goinject's init container once more, told to copy into "/": with the
// read-only root it fails with EROFS; without it, with EACCES, because it is not root.
func (s *suite) rootfsProof(ctx context.Context) {
	const group = "init container"
	c := cases[1] // debian, cloud-native
	mutated, _, err := s.mutate(ctx, filepath.Join(s.work, "cases", "rootfs", "m"), c.mode,
		s.pod(c, "e2e-rootfs", c.variant, nil), s.config(c))
	if !s.check(group, "mutate for the root file system proof", err == nil, "%v", err) {
		return
	}
	spec := mutated["spec"].(map[string]any)
	init := deepCopy(spec["initContainers"].([]any)[0].(map[string]any))
	init["name"] = "copy-to-root"
	init["args"] = []any{"/opt/goinject/agent", "/"}
	for i, variant := range []struct {
		name, want string
		readOnly   bool
	}{{"read-only root: copy-agent into / fails with \"Read-only file system\"", "Read-only file system", true},
		{"writable root: copy-agent into / still fails with \"Permission denied\": not root", "Permission denied", false}} {
		ic := deepCopy(init)
		ic["securityContext"].(map[string]any)["readOnlyRootFilesystem"] = variant.readOnly
		pod := map[string]any{
			"apiVersion": "v1", "kind": "Pod",
			"metadata": map[string]any{"name": fmt.Sprintf("e2e-rootfs-%d", i)},
			"spec": map[string]any{
				"containers": []any{ic},
				"volumes":    []any{map[string]any{"name": "goinject-agent", "emptyDir": map[string]any{}}},
			},
		}
		res, _, err := s.runPod(ctx, filepath.Join(s.work, "cases", "rootfs", strconv.Itoa(i)), pod, false)
		ok := err == nil && len(res.Containers) == 1
		var exit int
		var stderr string
		if ok {
			exit, stderr = res.Containers[0].exit(), res.Containers[0].Stderr
		}
		s.check(group, variant.name, ok && exit != 0 && strings.Contains(stderr, variant.want), "%v exit %d stderr %q", err, exit, stderr)
	}
}
