#!/usr/bin/env python3
"""expect.py JSON_FILE FIELD=VALUE... - checks fields of a `goinject inspect --json` answer.

FIELD is a dotted path (binary.cgo, command.0). VALUE is compared as written when the field is a string,
else as JSON (true, false, null, numbers, arrays). problems=a,b compares the list of
problem codes ("-" for none). Prints one line per mismatch; exit 1 when there is any.
"""
import json
import sys


def lookup(doc, path):
    for part in path.split("."):
        if isinstance(doc, list) and part.isdigit() and int(part) < len(doc):
            doc = doc[int(part)]
        elif isinstance(doc, dict) and part in doc:
            doc = doc[part]
        else:
            return "<missing>"
    return doc


def main():
    with open(sys.argv[1]) as f:
        doc = json.load(f)
    bad = 0
    for arg in sys.argv[2:]:
        field, want = arg.split("=", 1)
        got = lookup(doc, field)
        if field.endswith("problems"):
            got = ",".join(p["code"] for p in got) or "-"
        elif not isinstance(got, str):  # strings compare as written: CGO_ENABLED=0 is "0"
            try:
                want = json.loads(want)
            except ValueError:
                pass
        if got != want:
            print(f"{sys.argv[1]}: {field} is {json.dumps(got)}, want {json.dumps(want)}")
            bad += 1
    sys.exit(1 if bad else 0)


main()
