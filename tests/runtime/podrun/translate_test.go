package main

import (
	"encoding/csv"
	"reflect"
	"strings"
	"testing"
)

func TestExpand(t *testing.T) {
	vars := map[string]string{"A": "alpha", "EMPTY": "", "B": "$(A)"}
	lookup := func(n string) (string, bool) { v, ok := vars[n]; return v, ok }
	cases := map[string]string{
		"":                 "",
		"plain":            "plain",
		"$(A)":             "alpha",
		"x$(A)y":           "xalphay",
		"$(A)$(A)":         "alphaalpha",
		"$(EMPTY)":         "",
		"$(MISSING)":       "$(MISSING)",
		"$(B)":             "$(A)", // values are not expanded twice
		"$$":               "$",
		"$$(A)":            "$(A)",
		"$$$(A)":           "$alpha",
		"$$$$":             "$$",
		"$":                "$",
		"a$":               "a$",
		"$A":               "$A",
		"$(":               "$(",
		"$(A":              "$(A",
		"$()":              "$()",
		"$(echo pwned)":    "$(echo pwned)",
		"$($(A))":          "$($(A))",
		"`id` $HOME":       "`id` $HOME",
		"line\n$(A)\n":     "line\nalpha\n",
		"$(A)$":            "alpha$",
		"$x$$y$(A)$(Z)$$$": "$x$y" + "alpha" + "$(Z)" + "$$",
	}
	for in, want := range cases {
		if got := expand(in, lookup); got != want {
			t.Errorf("expand(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestContainerEnvExpandsInOrder(t *testing.T) {
	pod := &Pod{}
	pod.Metadata.Name, pod.Metadata.Namespace = "p", "ns"
	c := &Container{Env: []EnvVar{
		{Name: "LATER", Value: "$(FIRST)"}, // FIRST is not defined yet: kept
		{Name: "FIRST", Value: "one"},
		{Name: "SECOND", Value: "$(FIRST)-two"},
		{Name: "FIRST", Value: "uno"}, // replaces the value, keeps the position
	}}
	env, err := containerEnv(pod, c)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"LATER", "FIRST", "SECOND"}; !reflect.DeepEqual(env.names, want) {
		t.Errorf("names %v, want %v", env.names, want)
	}
	want := map[string]string{"LATER": "$(FIRST)", "FIRST": "uno", "SECOND": "one-two"}
	if !reflect.DeepEqual(env.values, want) {
		t.Errorf("values %v, want %v", env.values, want)
	}
}

func TestArgvTable(t *testing.T) {
	image := imageConfig{Entrypoint: []string{"/ep", "e1"}, Cmd: []string{"c1", "c2"}}
	env := []EnvVar{{Name: "V", Value: "v"}}
	cases := []struct {
		name          string
		command, args []string
		entrypoint    *string
		cmd           []string
		argv          []string
	}{
		{"both set", []string{"/bin/x", "$(V)"}, []string{"a", "$$(V)"}, strp("/bin/x"),
			[]string{"v", "a", "$(V)"}, []string{"/bin/x", "v", "a", "$(V)"}},
		{"command only: image CMD ignored", []string{"/bin/x"}, nil, strp("/bin/x"), nil, []string{"/bin/x"}},
		{"args only: image ENTRYPOINT kept", nil, []string{"-", "--", ""}, nil,
			[]string{"-", "--", ""}, []string{"/ep", "e1", "-", "--", ""}},
		{"neither: image ENTRYPOINT and CMD", nil, nil, nil, nil, []string{"/ep", "e1", "c1", "c2"}},
		{"empty lists count as unset", []string{}, []string{}, nil, nil, []string{"/ep", "e1", "c1", "c2"}},
	}
	for _, tc := range cases {
		pod := &Pod{}
		c := &Container{Name: "c", Image: "img", Command: tc.command, Args: tc.args, Env: env}
		spec, err := translate(translateInput{pod: pod, c: c, dockerName: "n", hostname: "h", volumes: map[string]string{}, image: image})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !reflect.DeepEqual(spec.Entrypoint, tc.entrypoint) || !reflect.DeepEqual(spec.Cmd, tc.cmd) && len(spec.Cmd)+len(tc.cmd) > 0 {
			t.Errorf("%s: entrypoint %v cmd %q, want %v %q", tc.name, deref(spec.Entrypoint), spec.Cmd, deref(tc.entrypoint), tc.cmd)
		}
		if got := executedArgv(spec, image); !reflect.DeepEqual(got, tc.argv) {
			t.Errorf("%s: argv %q, want %q", tc.name, got, tc.argv)
		}
		// The docker argv ends with the image and then exactly the CMD.
		tail := spec.Args[len(spec.Args)-len(spec.Cmd)-1:]
		if tail[0] != "img" || !reflect.DeepEqual(tail[1:], spec.Cmd) && len(spec.Cmd) > 0 {
			t.Errorf("%s: docker args end %q", tc.name, tail)
		}
	}
}

func TestSecurityTranslation(t *testing.T) {
	no, yes := false, true
	uid, gid, podUID := int64(65532), int64(65533), int64(1000)
	pod := &Pod{Spec: PodSpec{SecurityContext: &PodSecurityContext{RunAsUser: &podUID, SupplementalGroups: []int64{5}}}}
	c := &Container{Name: "c", Image: "img", SecurityContext: &SecurityContext{
		Capabilities: &Capabilities{Add: []string{"SYS_PTRACE"}, Drop: []string{"ALL"}},
		RunAsUser:    &uid, RunAsGroup: &gid, RunAsNonRoot: &yes, ReadOnlyRootFilesystem: &yes,
		AllowPrivilegeEscalation: &no, SeccompProfile: &SeccompProfile{Type: "RuntimeDefault"},
	}, Resources: Resources{Limits: map[string]string{"memory": "64Mi", "cpu": "500m"}, Requests: map[string]string{"cpu": "10m"}}}
	spec, err := translate(translateInput{pod: pod, c: c, dockerName: "n", hostname: "h", volumes: map[string]string{}})
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Join(spec.Args, " ")
	for _, want := range []string{"--user 65532:65533", "--group-add 5", "--cap-drop ALL", "--cap-add SYS_PTRACE",
		"--read-only", "--security-opt no-new-privileges=true", "--memory 67108864", "--cpus 0.500", "--cpu-shares 10"} {
		if !strings.Contains(args, want) {
			t.Errorf("docker args %q lack %q", args, want)
		}
	}
	if strings.Contains(args, "seccomp=unconfined") {
		t.Errorf("RuntimeDefault became unconfined: %q", args)
	}

	// The pod's user applies when the container sets none; no profile means unconfined.
	c2 := &Container{Name: "c", Image: "img"}
	spec, err = translate(translateInput{pod: pod, c: c2, dockerName: "n", hostname: "h", volumes: map[string]string{}})
	if err != nil {
		t.Fatal(err)
	}
	if args := strings.Join(spec.Args, " "); !strings.Contains(args, "--user 1000") || !strings.Contains(args, "seccomp=unconfined") {
		t.Errorf("docker args %q", args)
	}

	// runAsNonRoot against an image that runs as root: the kubelet refuses to start it.
	c3 := &Container{Name: "c", Image: "img", SecurityContext: &SecurityContext{RunAsNonRoot: &yes}}
	if _, err := translate(translateInput{pod: &Pod{}, c: c3, dockerName: "n", hostname: "h", volumes: map[string]string{}}); err == nil {
		t.Error("runAsNonRoot with a root image was accepted")
	}
}

func TestMountSpecQuotes(t *testing.T) {
	spec, err := mountSpec("/tmp/a,b", `/x"y`, true)
	if err != nil {
		t.Fatal(err)
	}
	fields, err := csv.NewReader(strings.NewReader(spec)).Read()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"type=bind", "source=/tmp/a,b", `target=/x"y`, "readonly"}
	if !reflect.DeepEqual(fields, want) {
		t.Errorf("%q reads back as %q", spec, fields)
	}
}

func TestQuantity(t *testing.T) {
	cases := map[string]float64{"64Mi": 64 << 20, "500m": 0.5, "1": 1, "1.5": 1.5, "2k": 2000, "1Gi": 1 << 30, "1e3": 1000}
	for in, want := range cases {
		if got, err := quantity(in); err != nil || got != want {
			t.Errorf("quantity(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "Mi", "-1", "1 Mi", "0x10"} {
		if _, err := quantity(bad); err == nil {
			t.Errorf("quantity(%q) accepted", bad)
		}
	}
}

func TestCheckPodRefusesWhatItCannotRun(t *testing.T) {
	good := `{"spec":{"containers":[{"name":"a","image":"i","ports":[{"containerPort":1}],"env":[{"name":"X","value":"y"}]}],"dnsPolicy":"ClusterFirst","hostPID":false}}`
	ignored, err := checkPod([]byte(good))
	if err != nil || !reflect.DeepEqual(ignored, []string{"spec.containers[0].ports", "spec.dnsPolicy"}) {
		t.Errorf("good pod: %v %v", ignored, err)
	}
	for _, bad := range []string{
		`{"spec":{"containers":[{"name":"a","image":"i","envFrom":[{}]}]}}`,
		`{"spec":{"containers":[{"name":"a","image":"i","lifecycle":{}}]}}`,
		`{"spec":{"containers":[{"name":"a","image":"i","securityContext":{"procMount":"Unmasked"}}]}}`,
		`{"spec":{"containers":[{"name":"a","image":"i"}],"hostPID":true}}`,
		`{"spec":{"containers":[{"name":"a","image":"i"}],"volumes":[{"name":"v","configMap":{}}]}}`,
		`{"spec":{"containers":[{"name":"a","image":"i","tty":true}]}}`,
	} {
		if _, err := checkPod([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

func strp(s string) *string { return &s }

func deref(p *string) string {
	if p == nil {
		return "<image's>"
	}
	return *p
}
