package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// writeEvidence prints the evidence table (image x mode) and writes it to WORK/evidence.md.
func (s *suite) writeEvidence() {
	if len(s.evidence) == 0 {
		return
	}
	var b strings.Builder
	stop := "`docker stop`"
	if s.node != nil {
		stop = "`kubectl delete pod`"
	}
	b.WriteString("| image | mode | goinject action | agent (probe) loaded into | wrapper removed (control) | " + stop + ": SIGTERM reached Go |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- |\n")
	for _, r := range s.evidence {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", r.image, r.mode, r.action, r.loadedIn, r.control, r.signal)
	}
	fmt.Print("\n" + b.String() + "\n")
	os.WriteFile(filepath.Join(s.work, "evidence.md"), []byte(b.String()), 0o644)
}
