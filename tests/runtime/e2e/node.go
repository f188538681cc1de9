package main

// The runtime proof on a real node (-node): the same images and cases as the pod runner's,
// but each pod is created with kubectl in a namespace whose goinject runs in the cluster
// (installed with helm by tests/e2e), so the API server sends the review to goinject's
// Service, the kubelet runs the mutated pod with containerd and runc, and `kubectl delete pod`
// stops it. What happened inside the containers is read back from the pod's status, its logs
// (kubectl logs), the OCI spec containerd gave runc (ctr containers info) and the pod's
// emptyDir volumes on the node's disk.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
)

// nodeEnv is where the node and the namespaces are.
type nodeEnv struct {
	kubectl    string
	root       string            // the kubelet's root directory
	ctrAddress string            // the node's containerd socket
	ns         map[string]string // "classic", "glibc", "musl", "restricted", "plain"
	ranFile    string            // where the uids of the pods that ran are appended
	mu         sync.Mutex
}

// The finalizer that keeps a deleted pod, with its final status, until the checks have read it.
const keepFinalizer = "e2e.goinject.io/keep"

type kcontainerStatus struct {
	Name        string `json:"name"`
	ContainerID string `json:"containerID"`
	State       struct {
		Running *struct {
			StartedAt string `json:"startedAt"`
		} `json:"running"`
		Terminated *struct {
			ExitCode int    `json:"exitCode"`
			Reason   string `json:"reason"`
			Signal   int    `json:"signal"`
		} `json:"terminated"`
		Waiting *struct {
			Reason  string `json:"reason"`
			Message string `json:"message"`
		} `json:"waiting"`
	} `json:"state"`
}

type kpod struct {
	Metadata struct {
		Name              string            `json:"name"`
		Namespace         string            `json:"namespace"`
		UID               string            `json:"uid"`
		Annotations       map[string]string `json:"annotations"`
		DeletionTimestamp *string           `json:"deletionTimestamp"`
	} `json:"metadata"`
	Spec struct {
		NodeName string `json:"nodeName"`
	} `json:"spec"`
	Status struct {
		Phase                 string             `json:"phase"`
		PodIP                 string             `json:"podIP"`
		InitContainerStatuses []kcontainerStatus `json:"initContainerStatuses"`
		ContainerStatuses     []kcontainerStatus `json:"containerStatuses"`
	} `json:"status"`
}

func (p *kpod) container(name string) *kcontainerStatus {
	for i := range p.Status.ContainerStatuses {
		if p.Status.ContainerStatuses[i].Name == name {
			return &p.Status.ContainerStatuses[i]
		}
	}
	return nil
}

func (s *suite) kubectl(ctx context.Context, stdin []byte, args ...string) (string, string, error) {
	cmd := exec.CommandContext(ctx, s.node.kubectl, args...)
	if stdin != nil {
		cmd.Stdin = strings.NewReader(string(stdin))
	}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("kubectl %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), stderr.String(), err
}

func (s *suite) getPod(ctx context.Context, ns, name string) (*kpod, error) {
	out, _, err := s.kubectl(ctx, nil, "-n", ns, "get", "pod", name, "-o", "json")
	if err != nil {
		return nil, err
	}
	var p kpod
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// waitPod polls the pod until cond holds; a container stuck waiting for a reason that will not
// pass (an image that is not there, a container that cannot be created) ends the wait at once.
func (s *suite) waitPod(ctx context.Context, ns, name string, timeout time.Duration, cond func(*kpod) bool) (*kpod, error) {
	deadline := time.Now().Add(timeout)
	var last *kpod
	for {
		p, err := s.getPod(ctx, ns, name)
		if err == nil {
			last = p
			if cond(p) {
				return p, nil
			}
			for _, cs := range append(append([]kcontainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
				if w := cs.State.Waiting; w != nil {
					switch w.Reason {
					case "ErrImageNeverPull", "CreateContainerError", "CreateContainerConfigError", "InvalidImageName", "RunContainerError":
						return p, fmt.Errorf("container %s: %s: %s", cs.Name, w.Reason, w.Message)
					}
				}
			}
		}
		if time.Now().After(deadline) {
			data, _ := json.Marshal(last)
			return last, fmt.Errorf("pod %s/%s: timed out after %s; last seen %s", ns, name, timeout, data)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func appStarted(p *kpod) bool {
	cs := p.container("app")
	return cs != nil && (cs.State.Running != nil || cs.State.Terminated != nil)
}

func appTerminated(p *kpod) bool {
	cs := p.container("app")
	return cs != nil && cs.State.Terminated != nil
}

// waitLog polls the container's log until it holds text.
func (s *suite) waitLog(ctx context.Context, ns, name, container, text string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		out, _, err := s.kubectl(ctx, nil, "-n", ns, "logs", name, "-c", container)
		if err == nil && strings.Contains(out, text) {
			return out, nil
		}
		if time.Now().After(deadline) {
			return out, fmt.Errorf("no %q in the log of %s/%s after %s (%v)", text, name, container, timeout, err)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// ranPod records that a pod's container started on the node.
func (s *suite) ranPod(p *kpod) {
	s.node.mu.Lock()
	defer s.node.mu.Unlock()
	if s.node.ranFile == "" || p == nil || p.Metadata.UID == "" {
		return
	}
	f, err := os.OpenFile(s.node.ranFile, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintln(f, p.Metadata.UID)
}

// ociSpec is the part of the OCI runtime spec containerd handed to runc that the checks read.
type ociSpec struct {
	Process struct {
		User struct {
			UID uint32 `json:"uid"`
			GID uint32 `json:"gid"`
		} `json:"user"`
		NoNewPrivileges bool `json:"noNewPrivileges"`
		Capabilities    struct {
			Effective []string `json:"effective"`
			Bounding  []string `json:"bounding"`
		} `json:"capabilities"`
		Env []string `json:"env"`
	} `json:"process"`
	Root struct {
		Readonly bool `json:"readonly"`
	} `json:"root"`
}

func (s *suite) containerSpec(ctx context.Context, containerID string) (*ociSpec, error) {
	id := strings.TrimPrefix(containerID, "containerd://")
	if id == "" || id == containerID {
		return nil, fmt.Errorf("not a containerd container: %q", containerID)
	}
	out, errOut, err := run(ctx, "ctr", "--address", s.node.ctrAddress, "--namespace", "k8s.io", "containers", "info", id)
	if err != nil {
		return nil, fmt.Errorf("ctr containers info %s: %v: %s", id, err, errOut)
	}
	var info struct {
		Spec ociSpec `json:"Spec"`
	}
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		return nil, err
	}
	return &info.Spec, nil
}

// volumeDir is where the kubelet keeps a pod's emptyDir on the node.
func (s *suite) volumeDir(uid, volume string) string {
	return filepath.Join(s.node.root, "pods", uid, "volumes", "kubernetes.io~empty-dir", volume)
}

// importImages copies the test images from Docker into the node's containerd.
func (s *suite) importImages(ctx context.Context) {
	var tags []string
	for _, spec := range imageSpecs {
		if _, broken := s.brokenImgs[spec.name]; !broken {
			tags = append(tags, s.imageTags[spec.name])
		}
	}
	if len(tags) == 0 {
		return
	}
	start := time.Now()
	save := exec.CommandContext(ctx, "docker", append([]string{"save"}, tags...)...)
	imp := exec.CommandContext(ctx, "ctr", "--address", s.node.ctrAddress, "--namespace", "k8s.io", "images", "import", "-")
	pipe, err := save.StdoutPipe()
	if err == nil {
		imp.Stdin = pipe
		var errOut strings.Builder
		imp.Stderr = &errOut
		if err = save.Start(); err == nil {
			err = imp.Run()
			if werr := save.Wait(); err == nil {
				err = werr
			}
			if err != nil {
				err = fmt.Errorf("%v: %s", err, errOut.String())
			}
		}
	}
	if !s.check("images", fmt.Sprintf("%d test images imported into the node's containerd (%s)", len(tags), time.Since(start).Round(100*time.Millisecond)), err == nil, "%v", err) {
		for _, spec := range imageSpecs {
			s.brokenImgs[spec.name] = "not imported"
		}
	}
}

// nsFor is the namespace whose goinject handles the case: classic, or cloud-native with the
// probe of the case's libc in agent.env.
func (s *suite) nsFor(c caseDef) string {
	if c.mode == "classic" {
		return s.node.ns["classic"]
	}
	return s.node.ns[c.flavor]
}

// nodePod is s.pod for the node: in namespace ns, no service account token (so the spec the API
// server stores is the same in every namespace), and optionally the keep finalizer.
func (s *suite) nodePod(c caseDef, ns, name string, v argvVariant, env map[string]string, keep bool) map[string]any {
	pod := s.pod(c, name, v, env)
	meta := pod["metadata"].(map[string]any)
	meta["namespace"] = ns
	if keep {
		meta["finalizers"] = []any{keepFinalizer}
	}
	pod["spec"].(map[string]any)["automountServiceAccountToken"] = false
	return pod
}

// createPod creates the pod with kubectl; it returns the pod as the API server stored it (after
// every admission webhook) and kubectl's stderr (the warnings).
func (s *suite) createPod(ctx context.Context, pod map[string]any, dryRun bool) (map[string]any, string, error) {
	data, err := json.Marshal(pod)
	if err != nil {
		return nil, "", err
	}
	ns := pod["metadata"].(map[string]any)["namespace"].(string)
	args := []string{"-n", ns, "create", "-o", "json", "-f", "-"}
	if dryRun {
		args = append(args, "--dry-run=server")
	}
	out, warnings, err := s.kubectl(ctx, data, args...)
	if err != nil {
		return nil, warnings, err
	}
	var created map[string]any
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		return nil, warnings, err
	}
	return created, warnings, nil
}

// deletePod deletes a pod (removing the keep finalizer) without waiting.
func (s *suite) deletePod(ctx context.Context, ns, name string) {
	s.kubectl(ctx, []byte(`{"metadata":{"finalizers":null}}`), "-n", ns, "patch", "pod", name, "--type=merge", "--patch-file=/dev/stdin")
	s.kubectl(ctx, nil, "-n", ns, "delete", "pod", name, "--wait=false", "--ignore-not-found")
}

// reference is the pod as the API server stores it without goinject: a server dry run in the
// namespace no goinject serves.
func (s *suite) reference(ctx context.Context, pod map[string]any) (map[string]any, error) {
	ref := deepCopy(pod)
	ref["metadata"].(map[string]any)["namespace"] = s.node.ns["plain"]
	delete(ref["metadata"].(map[string]any), "finalizers")
	out, _, err := s.createPod(ctx, ref, true)
	return out, err
}

// logFollower streams a container's log from before an event until the container ends.
type logFollower struct {
	done chan struct{}
	out  strings.Builder
	err  error
}

func (s *suite) followLog(ctx context.Context, ns, name, container string) *logFollower {
	f := &logFollower{done: make(chan struct{})}
	cmd := exec.CommandContext(ctx, s.node.kubectl, "-n", ns, "logs", "-f", name, "-c", container)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		f.err = err
		close(f.done)
		return f
	}
	if err := cmd.Start(); err != nil {
		f.err = err
		close(f.done)
		return f
	}
	go func() {
		defer close(f.done)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			f.out.WriteString(sc.Text() + "\n")
		}
		f.err = cmd.Wait()
	}()
	return f
}

func (f *logFollower) wait(timeout time.Duration) (string, error) {
	select {
	case <-f.done:
		return f.out.String(), f.err
	case <-time.After(timeout):
		return "", fmt.Errorf("kubectl logs -f did not end within %s", timeout)
	}
}

// runNodeCases runs the cases of the table, and the node's own, three at a time.
func (s *suite) runNodeCases(ctx context.Context) {
	jobs := s.caseJobs(func(cs *suite, c caseDef, i int, group string) { cs.runNodeCase(ctx, c, i, group) })
	if _, broken := s.brokenImgs["debian"]; !broken {
		jobs = append(jobs,
			func(cs *suite) { cs.nodePrefixedCap(ctx) },
			func(cs *suite) { cs.nodeNonRoot(ctx) },
			func(cs *suite) { cs.nodeRestricted(ctx) },
			func(cs *suite) { cs.nodeRootfs(ctx) })
	}
	s.runJobs(jobs)
}

// runJobs runs jobs caseWorkers at a time, each reporting into its own copy of the suite, and
// prints their checks in order.
func (s *suite) runJobs(jobs []func(*suite)) {
	results := make([]*suite, len(jobs))
	bufs := make([]*strings.Builder, len(jobs))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < caseWorkers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				cs := *s
				bufs[j] = &strings.Builder{}
				cs.out, cs.passed, cs.failed, cs.evidence = bufs[j], 0, 0, nil
				jobs[j](&cs)
				results[j] = &cs
			}
		}()
	}
	for j := range jobs {
		next <- j
	}
	close(next)
	wg.Wait()
	for j, cs := range results {
		fmt.Fprint(s.out, bufs[j].String())
		s.passed += cs.passed
		s.failed += cs.failed
		s.evidence = append(s.evidence, cs.evidence...)
	}
}

// startedPod creates the pod, waits until the app container started and printed its start line.
func (s *suite) startedPod(ctx context.Context, group string, pod map[string]any) (map[string]any, string, *kpod, *goappStarted, bool) {
	meta := pod["metadata"].(map[string]any)
	ns, name := meta["namespace"].(string), meta["name"].(string)
	created, warnings, err := s.createPod(ctx, pod, false)
	if !s.check(group, "kubectl create (admitted)", err == nil, "%v", err) {
		return nil, warnings, nil, nil, false
	}
	p, err := s.waitPod(ctx, ns, name, 150*time.Second, appStarted)
	if !s.check(group, "pod scheduled and the app container started on the node", err == nil, "%v", err) {
		return created, warnings, p, nil, false
	}
	s.ranPod(p)
	logs, err := s.waitLog(ctx, ns, name, "app", startedMark, 60*time.Second)
	if !s.check(group, "kubectl logs: the Go program started", err == nil, "%v", err) {
		return created, warnings, p, nil, false
	}
	started, _, err := parseGoapp(logs)
	if !s.check(group, "the start line parses", err == nil, "%v; log %q", err, logs) {
		return created, warnings, p, nil, false
	}
	return created, warnings, p, started, true
}

// runNodeCase: the pod is created as the user wrote it; goinject in the cluster mutates it; it
// runs on the node and is stopped with kubectl delete.
func (s *suite) runNodeCase(ctx context.Context, c caseDef, index int, group string) {
	row := evidenceRow{image: c.label, mode: c.mode, loadedIn: "-", control: "-", signal: "-"}
	defer func() { s.evidence = append(s.evidence, row) }()
	ns := s.nsFor(c)
	termCode := 40 + index
	env := map[string]string{"GOAPP_SLEEP": "300s", "GOAPP_TERM_EXIT": strconv.Itoa(termCode)}
	name := fmt.Sprintf("rt-%s-%d", c.image, index)
	pod := s.nodePod(c, ns, name, c.variant, env, true)
	defer s.deletePod(context.Background(), ns, name)

	ref, err := s.reference(ctx, pod)
	if !s.check(group, "server dry run without goinject (the reference)", err == nil, "%v", err) {
		return
	}
	mutated, warnings, p, started, ok := s.startedPod(ctx, group, pod)
	if mutated != nil {
		action := statusAction(mutated)
		row.action = action
		s.check(group, "action "+c.action+" (goinject in the cluster, through its Service)", action == c.action, "got %q", action)
		s.checkMutation(group, c, ref, mutated, warnings)
		if c.wrapped() {
			if cmd := stringList(containerOf(mutated)["command"]); len(cmd) > 0 {
				row.action = fmt.Sprintf("%s: `%s`", action, cmd[0])
			}
		}
	}
	if !ok {
		return
	}
	if c.mode == "cloud-native" && c.action != "unsupported" {
		s.checkNodeInit(ctx, group, c, p)
	} else {
		inits, _ := mutated["spec"].(map[string]any)["initContainers"].([]any)
		s.check(group, "no init container", len(inits) == 0 && len(p.Status.InitContainerStatuses) == 0,
			"%d in the spec, %d statuses", len(inits), len(p.Status.InitContainerStatuses))
	}
	got := started.receivedArgv()
	s.check(group, "argv exactly as the kubelet hands it over ("+c.variant.name+", "+strconv.Itoa(len(got))+" strings)",
		reflect.DeepEqual(got, c.variant.want), "got %s, want %s", quoteList(got), quoteList(c.variant.want))
	s.check(group, "the program is the static Go binary /app", started.Exe == "/app" && started.Cgo == (c.image == "cgo"),
		"exe %q cgo %t", started.Exe, started.Cgo)
	wantPtrace := c.action != "unsupported"
	s.check(group, fmt.Sprintf("CapEff %s has SYS_PTRACE (bit 19): %t", started.CapEff, wantPtrace),
		started.hasCap(capSysPtrace) == wantPtrace, "CapEff %s", started.CapEff)
	if app := p.container("app"); app != nil {
		oci, err := s.containerSpec(ctx, app.ContainerID)
		s.check(group, "runc was given CAP_SYS_PTRACE exactly when goinject added it (OCI spec from containerd)",
			err == nil && contains(oci.Process.Capabilities.Effective, "CAP_SYS_PTRACE") == wantPtrace,
			"%v %+v", err, oci)
	}

	switch {
	case c.action == "unsupported":
		row.loadedIn = "not injected; warning: " + c.warning
	case c.mode == "classic":
		row.loadedIn = "n/a (classic: the host agent injects)"
	case c.wrapped():
		row.loadedIn = s.checkProbe(group, c, s.volumeDir(p.Metadata.UID, "probe"), started)
	}

	// kubectl delete pod: the kubelet stops the container with SIGTERM; the finalizer keeps the
	// pod (and its final status) until it has been read.
	follow := s.followLog(ctx, ns, name, "app")
	_, _, err = s.kubectl(ctx, nil, "-n", ns, "delete", "pod", name, "--wait=false")
	if s.check(group, "kubectl delete pod", err == nil, "%v", err) {
		p2, werr := s.waitPod(ctx, ns, name, 60*time.Second, appTerminated)
		logs, lerr := follow.wait(30 * time.Second)
		_, events, perr := parseGoapp(logs)
		exit := -1
		if werr == nil {
			exit = p2.container("app").State.Terminated.ExitCode
		}
		signalled := perr == nil && len(events) == 1 && events[0].Event == "signal" && events[0].Signal == "terminated"
		if s.check(group, fmt.Sprintf("kubectl delete pod: SIGTERM reached the Go program, exit code %d in the pod status", termCode),
			werr == nil && lerr == nil && signalled && exit == termCode,
			"wait %v, logs %v %v, events %+v, exit %d", werr, lerr, perr, events, exit) {
			row.signal = fmt.Sprintf("yes: exit %d in the pod status", termCode)
		} else {
			row.signal = fmt.Sprintf("NO (exit %d)", exit)
		}
	}
	s.deletePod(ctx, ns, name)

	s.nodeExitRun(ctx, c, index, group, ns)
	if c.wrapped() {
		s.nodeControlRun(ctx, c, group, mutated, pod, &row)
	}
}

// checkNodeInit: the init container ran as 65532 with a read-only root file system (as runc was
// told), exited 0, and the bundle in the agent volume belongs to 65532.
func (s *suite) checkNodeInit(ctx context.Context, group string, c caseDef, p *kpod) {
	if !s.check(group, "one init container in the pod status", len(p.Status.InitContainerStatuses) == 1,
		"%d", len(p.Status.InitContainerStatuses)) {
		return
	}
	ic := p.Status.InitContainerStatuses[0]
	t := ic.State.Terminated
	s.check(group, "init container goinject-agent exited 0", ic.Name == "goinject-agent" && t != nil && t.ExitCode == 0,
		"%s %+v", ic.Name, ic.State)
	oci, err := s.containerSpec(ctx, ic.ContainerID)
	s.check(group, "init container ran as 65532:65532, read-only root, no-new-privileges, no capabilities (OCI spec from containerd)",
		err == nil && oci.Process.User.UID == 65532 && oci.Process.User.GID == 65532 && oci.Root.Readonly &&
			oci.Process.NoNewPrivileges && len(oci.Process.Capabilities.Effective) == 0,
		"%v %+v", err, oci)
	s.checkBundle(group, " on the node", s.volumeDir(p.Metadata.UID, "goinject-agent"), c.flavor)
}

// nodeExitRun: the program exits by itself; its exit code shows in the pod status.
func (s *suite) nodeExitRun(ctx context.Context, c caseDef, index int, group, ns string) {
	exitCode := 20 + index
	name := fmt.Sprintf("rt-%s-%d-exit", c.image, index)
	pod := s.nodePod(c, ns, name, variantCommandOnly, map[string]string{"GOAPP_EXIT": strconv.Itoa(exitCode)}, false)
	defer s.deletePod(context.Background(), ns, name)
	created, _, err := s.createPod(ctx, pod, false)
	if !s.check(group, "exit run: kubectl create (command [\"/app\"] only)", err == nil && statusAction(created) == c.action,
		"%v %s", err, statusAction(created)) {
		return
	}
	// The phase follows the container's status a moment later.
	p, err := s.waitPod(ctx, ns, name, 150*time.Second, func(p *kpod) bool {
		return appTerminated(p) && (p.Status.Phase == "Failed" || p.Status.Phase == "Succeeded")
	})
	if !s.check(group, "exit run: the pod ran to its end", err == nil, "%v", err) {
		return
	}
	s.ranPod(p)
	logs, _, lerr := s.kubectl(ctx, nil, "-n", ns, "logs", name, "-c", "app")
	st, _, perr := parseGoapp(logs)
	exit := p.container("app").State.Terminated.ExitCode
	s.check(group, fmt.Sprintf("exit run: the program's own exit code %d in the pod status (phase %s); argv [\"/app\"], the image CMD ignored", exitCode, p.Status.Phase),
		lerr == nil && perr == nil && exit == exitCode && p.Status.Phase == "Failed" && reflect.DeepEqual(st.receivedArgv(), variantCommandOnly.want),
		"%v %v exit %d phase %s log %q", lerr, perr, exit, p.Status.Phase, logs)
}

// cleanForCreate: a stored pod made fit to be created again under another name and namespace.
func cleanForCreate(stored map[string]any, ns, name string) map[string]any {
	pod := deepCopy(stored)
	delete(pod, "status")
	meta := pod["metadata"].(map[string]any)
	for _, k := range []string{"uid", "resourceVersion", "creationTimestamp", "managedFields", "generation", "finalizers", "deletionTimestamp", "deletionGracePeriodSeconds"} {
		delete(meta, k)
	}
	meta["name"], meta["namespace"] = name, ns
	delete(pod["spec"].(map[string]any), "nodeName")
	return pod
}

// nodeControlRun: the mutated pod with the original command and args, in the namespace no
// goinject serves: LD_PRELOAD set, the bundle copied, and yet no record, Go is PID 1.
func (s *suite) nodeControlRun(ctx context.Context, c caseDef, group string, mutated, pod map[string]any, row *evidenceRow) {
	ns := s.node.ns["plain"]
	name := mutated["metadata"].(map[string]any)["name"].(string) + "-control"
	control := cleanForCreate(mutated, ns, name)
	cc, orig := containerOf(control), containerOf(pod)
	for _, k := range []string{"command", "args"} {
		if v, ok := orig[k]; ok {
			cc[k] = v
		} else {
			delete(cc, k)
		}
	}
	defer s.deletePod(context.Background(), ns, name)
	_, _, p, st, ok := s.startedPod(ctx, group+" / control (wrapper removed)", control)
	if !ok {
		row.control = "did not run"
		return
	}
	preload := false
	for _, e := range stringListOfEnv(cc) {
		preload = preload || strings.HasPrefix(e, "LD_PRELOAD=/goinject-agent/probe/")
	}
	initOK := len(p.Status.InitContainerStatuses) == 1 && p.Status.InitContainerStatuses[0].State.Terminated != nil &&
		p.Status.InitContainerStatuses[0].State.Terminated.ExitCode == 0
	recs, err := readProbeDir(s.volumeDir(p.Metadata.UID, "probe"))
	s.check(group, "control: LD_PRELOAD set and the bundle copied, yet the probe recorded nothing (static Go as PID 1)",
		err == nil && preload && initOK && len(recs) == 0 && st.Pid == 1,
		"err %v preload %t init %t records %+v pid %d", err, preload, initOK, recs, st.Pid)
	s.check(group, "control: same argv", reflect.DeepEqual(st.receivedArgv(), c.variant.want), "got %s", quoteList(st.receivedArgv()))
	if err == nil && len(recs) == 0 {
		row.control = "nothing loaded (Go is PID 1)"
	} else {
		row.control = fmt.Sprintf("%d records", len(recs))
	}
}

// stringListOfEnv: NAME=value of a container's plain env entries.
func stringListOfEnv(container map[string]any) []string {
	list, _ := container["env"].([]any)
	var out []string
	for _, e := range list {
		m, _ := e.(map[string]any)
		name, _ := m["name"].(string)
		value, _ := m["value"].(string)
		out = append(out, name+"="+value)
	}
	return out
}

// debianCase is the debian image in cloud-native mode (shell wrapper, glibc), the base of the
// node's own cases.
func debianCase() caseDef { return cases[1] }

// nodePrefixedCap (issue 14): a pod that asks for CAP_SYS_PTRACE. Without goinject the runtime
// ignores the name (bit 19 clear); with goinject, SYS_PTRACE is added beside it, with a warning,
// and the Go program has bit 19.
func (s *suite) nodePrefixedCap(ctx context.Context) {
	const group = "debian, capabilities.add [CAP_SYS_PTRACE] / cloud-native"
	c := debianCase()
	for _, withGoinject := range []bool{false, true} {
		ns, name, g := s.nsFor(c), "rt-cap-prefixed", group
		if !withGoinject {
			ns, name, g = s.node.ns["plain"], "rt-cap-prefixed-alone", "debian, capabilities.add [CAP_SYS_PTRACE], no goinject"
		}
		pod := s.nodePod(c, ns, name, c.variant, map[string]string{"GOAPP_SLEEP": "300s"}, false)
		containerOf(pod)["securityContext"] = map[string]any{"capabilities": map[string]any{"add": []any{"CAP_SYS_PTRACE"}}}
		func() {
			defer s.deletePod(context.Background(), ns, name)
			mutated, warnings, _, started, ok := s.startedPod(ctx, g, pod)
			if withGoinject && mutated != nil {
				add := stringList(containerOf(mutated)["securityContext"].(map[string]any)["capabilities"].(map[string]any)["add"])
				s.check(g, "capabilities.add is [CAP_SYS_PTRACE SYS_PTRACE]", reflect.DeepEqual(add, []string{"CAP_SYS_PTRACE", "SYS_PTRACE"}), "%v", add)
				want := `Warning: goinject: container "app": capabilities.add has CAP_SYS_PTRACE; Kubernetes names carry no CAP_ prefix and the runtime ignores it: drop the prefix (SYS_PTRACE was added)`
				s.check(g, "goinject warned about the CAP_ prefix", strings.Contains(warnings, want), "stderr %q", warnings)
				s.check(g, "action shell-wrapper", statusAction(mutated) == "shell-wrapper", "%q", statusAction(mutated))
			}
			if !ok {
				return
			}
			s.check(g, fmt.Sprintf("CapEff %s has SYS_PTRACE (bit 19): %t", started.CapEff, withGoinject),
				started.hasCap(capSysPtrace) == withGoinject, "CapEff %s", started.CapEff)
		}()
	}
}

// nodeNonRoot (issue 14): a container that runs as a non-root user gets SYS_PTRACE written, a
// warning, ptraceIneffective in the status, and its process really has no capability.
func (s *suite) nodeNonRoot(ctx context.Context) {
	const group = "debian, runAsUser 1000 / cloud-native"
	c := debianCase()
	ns, name := s.nsFor(c), "rt-nonroot"
	pod := s.nodePod(c, ns, name, c.variant, map[string]string{"GOAPP_SLEEP": "300s"}, false)
	containerOf(pod)["securityContext"] = map[string]any{"runAsUser": 1000, "runAsGroup": 1000}
	defer s.deletePod(context.Background(), ns, name)
	mutated, warnings, p, started, ok := s.startedPod(ctx, group, pod)
	if mutated != nil {
		want := `Warning: goinject: container "app": runs as non-root (runAsUser 1000): SYS_PTRACE never takes effect; run as root with only the capabilities needed, or use the agent vendor's non-root mode`
		s.check(group, "goinject warned that SYS_PTRACE cannot take effect", strings.Contains(warnings, want), "stderr %q", warnings)
		var st struct {
			PtraceIneffective map[string]string `json:"ptraceIneffective"`
		}
		json.Unmarshal([]byte(mutated["metadata"].(map[string]any)["annotations"].(map[string]any)["goinject.io/status"].(string)), &st)
		s.check(group, "status annotation: ptraceIneffective {app: runAsUser}", st.PtraceIneffective["app"] == "runAsUser", "%v", st.PtraceIneffective)
		add := stringList(containerOf(mutated)["securityContext"].(map[string]any)["capabilities"].(map[string]any)["add"])
		s.check(group, "SYS_PTRACE still written (the contract does not change)", reflect.DeepEqual(add, []string{"SYS_PTRACE"}), "%v", add)
	}
	if !ok {
		return
	}
	s.check(group, fmt.Sprintf("CapEff %s: no capability at all, SYS_PTRACE (bit 19) clear", started.CapEff),
		strings.Trim(started.CapEff, "0") == "" && started.CapEff != "", "CapEff %s", started.CapEff)
	recs, err := readProbeDir(s.volumeDir(p.Metadata.UID, "probe"))
	s.check(group, "the probe was still loaded into /bin/sh (uid 1000), the wrapper still works",
		err == nil && len(recs) == 1 && recs[0].UID == 1000 && recs[0].Pid == started.Pid, "%v %+v", err, recs)
}

// nodeRestricted: a namespace that enforces Pod Security restricted. The static Go container
// gets no SYS_PTRACE and no wrapper, with goinject's warning; a dynamically linked sidecar gets
// the agent, whose init container passes restricted; the pod runs.
func (s *suite) nodeRestricted(ctx context.Context) {
	const group = "Pod Security restricted namespace / cloud-native"
	c := debianCase()
	ns, name := s.node.ns["restricted"], "rt-restricted"
	pod := s.nodePod(c, ns, name, c.variant, map[string]string{"GOAPP_SLEEP": "300s"}, false)
	spec := pod["spec"].(map[string]any)
	spec["securityContext"] = map[string]any{"runAsNonRoot": true, "runAsUser": 1000, "runAsGroup": 1000,
		"seccompProfile": map[string]any{"type": "RuntimeDefault"}}
	restricted := map[string]any{"allowPrivilegeEscalation": false, "capabilities": map[string]any{"drop": []any{"ALL"}}}
	app := containerOf(pod)
	app["securityContext"] = restricted
	annotations := pod["metadata"].(map[string]any)["annotations"].(map[string]any)
	annotations["static-go.goinject.io/sidecar"] = "false"
	spec["containers"] = append(spec["containers"].([]any), map[string]any{
		"name": "sidecar", "image": app["image"], "imagePullPolicy": "Never",
		"command":         []any{"/bin/sh", "-c", "echo sidecar started; exec sleep 300"},
		"securityContext": deepCopy(map[string]any{"x": restricted})["x"],
		"volumeMounts":    []any{map[string]any{"name": "sidecar-probe", "mountPath": probeMount}},
		"env":             []any{map[string]any{"name": "GOINJECT_PROBE_DIR", "value": probeMount}},
	})
	spec["volumes"] = append(spec["volumes"].([]any), map[string]any{"name": "sidecar-probe", "emptyDir": map[string]any{}})
	defer s.deletePod(context.Background(), ns, name)
	mutated, warnings, p, started, ok := s.startedPod(ctx, group, pod)
	if mutated != nil {
		want := `Warning: goinject: container "app": static Go needs SYS_PTRACE, which this namespace's Pod Security level forbids; not injected. Label the namespace pod-security.kubernetes.io/enforce=privileged to monitor it`
		s.check(group, "goinject warned: Pod Security forbids SYS_PTRACE", strings.Contains(warnings, want), "stderr %q", warnings)
		var st struct {
			Containers map[string]string `json:"containers"`
		}
		json.Unmarshal([]byte(mutated["metadata"].(map[string]any)["annotations"].(map[string]any)["goinject.io/status"].(string)), &st)
		s.check(group, "status: app pod-security, sidecar agent", reflect.DeepEqual(st.Containers, map[string]string{"app": "pod-security", "sidecar": "agent"}), "%v", st.Containers)
		_, hasCommand := containerOf(mutated)["command"]
		s.check(group, "app not wrapped", !hasCommand, "command %v", containerOf(mutated)["command"])
	}
	if !ok {
		return
	}
	s.check(group, "the pod passed Pod Security restricted and runs (with goinject's init container)",
		len(p.Status.InitContainerStatuses) == 1 && p.Status.InitContainerStatuses[0].State.Terminated != nil &&
			p.Status.InitContainerStatuses[0].State.Terminated.ExitCode == 0, "%+v", p.Status.InitContainerStatuses)
	s.check(group, "argv exactly as the kubelet hands it over", reflect.DeepEqual(started.receivedArgv(), c.variant.want),
		"got %s", quoteList(started.receivedArgv()))
	s.check(group, fmt.Sprintf("CapEff %s: nothing (restricted drops ALL)", started.CapEff), strings.Trim(started.CapEff, "0") == "", "%s", started.CapEff)
	if _, err := s.waitLog(ctx, ns, name, "sidecar", "sidecar started", 60*time.Second); s.check(group, "sidecar started", err == nil, "%v", err) {
		recs, err := readProbeDir(s.volumeDir(p.Metadata.UID, "sidecar-probe"))
		ok := err == nil && len(recs) >= 1
		for _, r := range recs {
			ok = ok && r.Libc == "glibc" && r.UID == 1000
		}
		s.check(group, "the agent (probe, glibc) was loaded into the sidecar's dynamically linked processes, as uid 1000",
			ok, "%v %+v", err, recs)
	}
}

// nodeRootfs: goinject's init container told to copy into "/" fails: the root file system is
// read-only (EROFS), as the kubelet set it up.
func (s *suite) nodeRootfs(ctx context.Context) {
	const group = "init container"
	c := debianCase()
	ns, name := s.nsFor(c), "rt-rootfs-source"
	mutated, _, err := s.createPod(ctx, s.nodePod(c, ns, name, c.variant, nil, false), true)
	if !s.check(group, "dry run for the root file system proof", err == nil, "%v", err) {
		return
	}
	inits, _ := mutated["spec"].(map[string]any)["initContainers"].([]any)
	if !s.check(group, "the dry run has goinject's init container", len(inits) == 1, "initContainers %s", jsonString(inits)) {
		return
	}
	init := deepCopy(inits[0].(map[string]any))
	init["name"] = "copy-to-root"
	init["args"] = []any{"/opt/goinject/agent", "/"}
	plain := s.node.ns["plain"]
	pod := map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": "rt-rootfs", "namespace": plain},
		"spec": map[string]any{
			"containers": []any{init}, "restartPolicy": "Never", "automountServiceAccountToken": false,
			"volumes": []any{map[string]any{"name": "goinject-agent", "emptyDir": map[string]any{}}},
		},
	}
	defer s.deletePod(context.Background(), plain, "rt-rootfs")
	if _, _, err := s.createPod(ctx, pod, false); !s.check(group, "kubectl create of goinject's init container, copying into /", err == nil, "%v", err) {
		return
	}
	p, err := s.waitPod(ctx, plain, "rt-rootfs", 150*time.Second, func(p *kpod) bool {
		cs := p.container("copy-to-root")
		return cs != nil && cs.State.Terminated != nil
	})
	if !s.check(group, "it ran to its end", err == nil, "%v", err) {
		return
	}
	s.ranPod(p)
	logs, _, _ := s.kubectl(ctx, nil, "-n", plain, "logs", "rt-rootfs", "-c", "copy-to-root")
	exit := p.container("copy-to-root").State.Terminated.ExitCode
	s.check(group, "read-only root on the node: copy-agent into / fails with \"Read-only file system\"",
		exit != 0 && strings.Contains(logs, "Read-only file system"), "exit %d log %q", exit, logs)
}
