// Command goapp is the static Go program of goinject's runtime tests (README, "Proof at
// runtime"). It stands for any statically linked Go entrypoint and reports what it was given.
//
// On start it prints one line of JSON to stdout:
//
//	{"event":"started","argv":[...],"argvHex":[...],"pid":7,"ppid":1,"exe":"/app",
//	 "uid":0,"gid":0,"capEff":"00000000a80c25fb","cgo":false}
//
// argv is os.Args exactly as the kernel passed them (argvHex holds the same bytes in hex, for
// arguments that are not UTF-8); capEff is the CapEff line of /proc/self/status.
//
// Then it waits GOAPP_SLEEP (a Go duration, default 0) and exits with GOAPP_EXIT (default 0),
// printing {"event":"exit","exit":N}. A SIGTERM ends the wait at once: it prints
// {"event":"signal","signal":"terminated","exit":N} and exits with GOAPP_TERM_EXIT (default 143).
// Its settings come from the environment only, so that every argument is payload.
package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cgoEnabled is set by cgo.go, which only a cgo build compiles.
var cgoEnabled = false

type started struct {
	Event   string   `json:"event"`
	Argv    []string `json:"argv"`
	ArgvHex []string `json:"argvHex"`
	Pid     int      `json:"pid"`
	Ppid    int      `json:"ppid"`
	Exe     string   `json:"exe"`
	UID     int      `json:"uid"`
	GID     int      `json:"gid"`
	CapEff  string   `json:"capEff"`
	Cgo     bool     `json:"cgo"`
}

func emit(v any) {
	line, err := json.Marshal(v)
	if err != nil {
		fmt.Fprintln(os.Stderr, "goapp:", err)
		os.Exit(70)
	}
	os.Stdout.Write(append(line, '\n'))
}

func envInt(name string, def int) int {
	s, ok := os.LookupEnv(name)
	if !ok || s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 255 {
		fmt.Fprintf(os.Stderr, "goapp: %s=%q is not an exit code 0..255\n", name, s)
		os.Exit(64)
	}
	return n
}

func capEff() string {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func main() {
	exitCode := envInt("GOAPP_EXIT", 0)
	termCode := envInt("GOAPP_TERM_EXIT", 143)
	var sleep time.Duration
	if s := os.Getenv("GOAPP_SLEEP"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			fmt.Fprintf(os.Stderr, "goapp: GOAPP_SLEEP=%q is not a duration\n", s)
			os.Exit(64)
		}
		sleep = d
	}

	// The handler is in place before the start line is printed: whoever waits for that line
	// may send SIGTERM right away.
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)

	exe, _ := os.Readlink("/proc/self/exe")
	s := started{
		Event: "started", Argv: os.Args, ArgvHex: make([]string, len(os.Args)),
		Pid: os.Getpid(), Ppid: os.Getppid(), Exe: exe,
		UID: os.Getuid(), GID: os.Getgid(), CapEff: capEff(), Cgo: cgoEnabled,
	}
	for i, a := range os.Args {
		s.ArgvHex[i] = hex.EncodeToString([]byte(a))
	}
	emit(s)

	select {
	case <-term:
		emit(map[string]any{"event": "signal", "signal": "terminated", "exit": termCode})
		os.Exit(termCode)
	case <-time.After(sleep):
		emit(map[string]any{"event": "exit", "exit": exitCode})
		os.Exit(exitCode)
	}
}
