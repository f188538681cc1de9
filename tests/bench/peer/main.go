// Command peer is the reference webhook of `make bench`: goinject's mutation
// written the way a Go team would write it with controller-runtime's
// webhook/admission package (typed Pod decode, mutate, marshal,
// PatchResponseFromRaw). It implements the rules for the paths the benchmark
// pods take (facts from annotations, the argv table, shell and tini wrappers,
// SYS_PTRACE, the agent mount, init container, volume and status annotations)
// in cloud-native mode with goinject's default configuration. The harness
// checks that its patched pod equals goinject's for every benchmark pod.
//
// It is a benchmark peer, not a product: warnings, Pod Security routes and
// configuration files are left out.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

const (
	prefix     = "goinject.io"
	version    = "0.1.0"
	mountPath  = "/goinject-agent"
	volumeName = "goinject-agent"
	initName   = "goinject-agent"
	agentImage = "goinject/goinject:0.1.0"
	sourcePath = "/opt/goinject/agent"
	agentUID   = int64(65532)
)

var log = ctrl.Log.WithName("peer")

type mutator struct {
	decoder admission.Decoder
}

func boolPtr(b bool) *bool { return &b }

// fact: the per-container annotation, then the pod-wide one.
func fact(ann map[string]string, name, container string, podWide bool) (string, bool) {
	if v, ok := ann[name+"."+prefix+"/"+container]; ok {
		return v, true
	}
	if podWide {
		v, ok := ann[prefix+"/"+name]
		return v, ok
	}
	return "", false
}

func jsonList(ann map[string]string, name, container string) ([]string, bool) {
	v, ok := fact(ann, name, container, false)
	if !ok {
		return nil, false
	}
	var list []string
	if json.Unmarshal([]byte(v), &list) != nil {
		return nil, false
	}
	return list, true
}

// effectiveArgv is the Kubernetes argv table; ok is false when it depends on an unknown fact.
func effectiveArgv(c *corev1.Container, ann map[string]string) ([]string, bool) {
	if len(c.Command) > 0 {
		return append(append([]string{}, c.Command...), c.Args...), true
	}
	entry, ok := jsonList(ann, "entrypoint", c.Name)
	if !ok {
		return nil, false
	}
	if len(c.Args) > 0 {
		return append(append([]string{}, entry...), c.Args...), len(entry) > 0
	}
	cmd, ok := jsonList(ann, "cmd", c.Name)
	if !ok {
		return nil, false
	}
	argv := append(append([]string{}, entry...), cmd...)
	return argv, len(argv) > 0
}

var parents = map[string]bool{"sh": true, "bash": true, "ash": true, "dash": true, "tini": true, "dumb-init": true}

// plan decides one container's action and applies it to the typed container.
func plan(c *corev1.Container, ann map[string]string) string {
	if v, ok := ann["inject."+prefix+"/"+c.Name]; ok && v == "false" {
		return "opted-out"
	}
	if v, _ := fact(ann, "static-go", c.Name, true); v != "true" {
		addAgent(c)
		return "agent"
	}
	cgo, _ := fact(ann, "cgo", c.Name, true)
	libc, _ := fact(ann, "libc", c.Name, true)
	if cgo == "true" || libc == "none" {
		return "unsupported"
	}
	action := "ptrace+agent"
	if argv, ok := effectiveArgv(c, ann); ok && !parents[path.Base(argv[0])] {
		shell, _ := fact(ann, "shell", c.Name, true)
		if strings.HasPrefix(shell, "/") {
			c.Command = []string{shell, "-c", `exec "$0" "$@"`, argv[0]}
			action = "shell-wrapper"
		} else {
			flavor := "glibc"
			if libc == "musl" {
				flavor = "musl"
			}
			c.Command = []string{mountPath + "/tini/" + flavor + "/tini", "--", argv[0]}
			action = "tini-wrapper"
		}
		c.Args = nil
		if len(argv) > 1 {
			c.Args = argv[1:]
		}
	}
	addPtrace(c)
	addAgent(c)
	return action
}

func addPtrace(c *corev1.Container) {
	sc := c.SecurityContext
	if sc != nil && sc.Privileged != nil && *sc.Privileged {
		return
	}
	if sc == nil {
		sc = &corev1.SecurityContext{}
		c.SecurityContext = sc
	}
	if sc.Capabilities == nil {
		sc.Capabilities = &corev1.Capabilities{}
	}
	for _, cap := range sc.Capabilities.Add {
		if cap == "SYS_PTRACE" || cap == "CAP_SYS_PTRACE" || cap == "ALL" {
			return
		}
	}
	sc.Capabilities.Add = append(sc.Capabilities.Add, "SYS_PTRACE")
}

func addAgent(c *corev1.Container) {
	for _, m := range c.VolumeMounts {
		if m.Name == volumeName {
			return
		}
	}
	c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: volumeName, MountPath: mountPath, ReadOnly: true})
}

func initContainer() corev1.Container {
	return corev1.Container{
		Name:            initName,
		Image:           agentImage,
		ImagePullPolicy: corev1.PullIfNotPresent,
		Command:         []string{"/usr/local/bin/goinject", "copy-agent"},
		Args:            []string{sourcePath, mountPath},
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("16Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
		},
		SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: boolPtr(false),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			Privileged:               boolPtr(false),
			ReadOnlyRootFilesystem:   boolPtr(true),
			RunAsNonRoot:             boolPtr(true),
			RunAsUser:                func() *int64 { v := agentUID; return &v }(),
			RunAsGroup:               func() *int64 { v := agentUID; return &v }(),
			SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		VolumeMounts: []corev1.VolumeMount{{Name: volumeName, MountPath: mountPath}},
	}
}

var excluded = map[string]bool{"kube-system": true, "kube-public": true, "kube-node-lease": true, "goinject-system": true}

func (m *mutator) Handle(ctx context.Context, req admission.Request) admission.Response {
	start := time.Now()
	if req.Operation != "CREATE" || req.Resource.Resource != "pods" || req.SubResource != "" || excluded[req.Namespace] {
		return admission.Allowed("")
	}
	pod := &corev1.Pod{}
	if err := m.decoder.Decode(req, pod); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	ann := pod.Annotations
	if pod.Spec.OS != nil && pod.Spec.OS.Name == corev1.Windows || ann[prefix+"/inject"] == "false" {
		return admission.Allowed("")
	}
	var done []string // "name: action", in container order
	status := map[string]string{}
	if text, ok := ann[prefix+"/status"]; ok {
		var prev struct{ Containers map[string]string }
		if json.Unmarshal([]byte(text), &prev) == nil {
			status = prev.Containers
		}
	}
	needAgent := false
	actions := make([]string, 0, len(pod.Spec.Containers))
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		if _, ok := status[c.Name]; ok {
			continue
		}
		action := plan(c, ann)
		needAgent = needAgent || action != "opted-out" && action != "unsupported"
		status[c.Name] = action
		done = append(done, c.Name+": "+action)
		actions = append(actions, action)
	}
	if len(done) == 0 {
		return admission.Allowed("")
	}
	if needAgent {
		hasInit := false
		for _, c := range pod.Spec.InitContainers {
			hasInit = hasInit || c.Name == initName
		}
		if !hasInit {
			pod.Spec.InitContainers = append(pod.Spec.InitContainers, initContainer())
		}
		hasVolume := false
		for _, v := range pod.Spec.Volumes {
			hasVolume = hasVolume || v.Name == volumeName
		}
		if !hasVolume {
			pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: volumeName, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
		}
	}
	// goinject writes the status map in container order; build it the same way.
	var b strings.Builder
	fmt.Fprintf(&b, `{"version":%q,"mode":"cloud-native","containers":{`, version)
	injected := false
	for i, c := range pod.Spec.Containers {
		if i > 0 {
			b.WriteByte(',')
		}
		name, _ := json.Marshal(c.Name)
		action, _ := json.Marshal(status[c.Name])
		b.Write(name)
		b.WriteByte(':')
		b.Write(action)
		injected = injected || status[c.Name] != "opted-out" && status[c.Name] != "unsupported" && status[c.Name] != "none"
	}
	b.WriteString("}}")
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	pod.Annotations[prefix+"/status"] = b.String()
	pod.Annotations[prefix+"/injected"] = fmt.Sprint(injected)
	pod.Annotations[prefix+"/reason"] = strings.Join(done, ", ")
	marshaled, err := json.Marshal(pod)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, err)
	}
	resp := admission.PatchResponseFromRaw(req.Object.Raw, marshaled)
	log.Info("review", "uid", req.UID, "namespace", req.Namespace, "pod", pod.GenerateName,
		"actions", actions, "patchOps", len(resp.Patches), "durationMs", float64(time.Since(start).Microseconds())/1000)
	return resp
}

func main() {
	port := flag.Int("port", 9443, "listen port on 127.0.0.1")
	certDir := flag.String("cert-dir", "", "directory with tls.crt and tls.key")
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseDevMode(false), zap.WriteTo(os.Stderr)))

	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		panic(err)
	}
	srv := webhook.NewServer(webhook.Options{Host: "127.0.0.1", Port: *port, CertDir: *certDir, CertName: "tls.crt", KeyName: "tls.key"})
	srv.Register("/mutate", &admission.Webhook{Handler: &mutator{decoder: admission.NewDecoder(scheme)}})
	srv.Register("/readyz", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	}))
	if err := srv.Start(ctrl.SetupSignalHandler()); err != nil {
		fmt.Fprintln(os.Stderr, "peer:", err)
		os.Exit(1)
	}
}
