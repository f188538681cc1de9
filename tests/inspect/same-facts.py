#!/usr/bin/env python3
"""same-facts.py A.json B.json - checks that two `goinject inspect --json` answers about twins of
one image (an OCI layout with gzip layers and the same with zstd layers) state the same facts.
The manifest digest is left out: it differs with the layer blobs. Prints the fields that differ
and exits 1 when there is any.
"""
import json
import sys


def main():
    docs = []
    for path in sys.argv[1:3]:
        with open(path) as f:
            doc = json.load(f)
        doc.pop("digest", None)
        docs.append(doc)
    a, b = docs
    differ = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    if differ:
        print(f"{sys.argv[2]}: differs from {sys.argv[1]} in " + ", ".join(differ))
        sys.exit(1)


main()
