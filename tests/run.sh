#!/bin/sh
# `make run`: serve on https://127.0.0.1:8443 with a freshly generated
# certificate, after printing a curl line that posts a sample AdmissionReview.
set -eu
bin=${1:?usage: run.sh GOINJECT_BINARY [SERVE_FLAGS...]}
shift
top=$(cd "$(dirname "$0")/.." && pwd)
certs="$top/build/run-certs"
listen=${GOINJECT_LISTEN:-127.0.0.1:8443}
sample="$top/tests/golden/cases/static-go-shell/review.json"

"$bin" certgen --out "$certs" --host localhost --host 127.0.0.1 >/dev/null
cat <<MSG
goinject: serving on https://$listen (cloud-native mode; Ctrl-C stops it).
Post a sample AdmissionReview from another terminal:

  curl -sS --cacert $certs/ca.crt -H 'Content-Type: application/json' --data-binary @$sample https://$listen/mutate

Decode the answer's patch with:  ... | python3 -c 'import sys,json,base64; print(base64.b64decode(json.load(sys.stdin)["response"]["patch"]).decode())'

MSG
exec "$bin" serve --listen "$listen" --tls-cert "$certs/tls.crt" --tls-key "$certs/tls.key" "$@"
