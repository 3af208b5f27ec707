#!/bin/bash
# Schemathesis over the REST API's OpenAPI spec, against a real `assistant serve` on a fresh index
# (docs/reliability.md, Security). Counts the server's 5xx answers, which must be 0.
#
#   python -m venv /tmp/st-venv && /tmp/st-venv/bin/pip install schemathesis   # once, apart from the project
#   scripts/fuzz_api.sh 18801              # no API key
#   scripts/fuzz_api.sh 18802 some-key     # with ASSISTANT_API_KEY=some-key
#
# MAXTIME (seconds, default 240), ST (the st command, default /tmp/st-venv/bin/st), PYTHON (the
# project's interpreter, default python). Writes /tmp/st_PORT.txt and /tmp/server_PORT.log.
set -u
PORT=${1:?usage: scripts/fuzz_api.sh PORT [API_KEY]}
KEY=${2:-}
ST=${ST:-/tmp/st-venv/bin/st}
PYTHON=${PYTHON:-python}
DATA=$(mktemp -d)
export ASSISTANT_DATA_DIR=$DATA ASSISTANT_FEED_REFRESH_MINUTES=0 ASSISTANT_FETCH_TIMEOUT=2
[ -n "$KEY" ] && export ASSISTANT_API_KEY=$KEY
"$PYTHON" -m assistant serve --port "$PORT" > "$DATA/server.log" 2>&1 &
SERVER=$!
AUTH=()
[ -n "$KEY" ] && AUTH=(-H "X-API-Key: $KEY")
for _ in $(seq 1 180); do
    curl -s -o /dev/null "${AUTH[@]}" "http://127.0.0.1:$PORT/api/health" && break
    sleep 1
done
"$ST" run "http://127.0.0.1:$PORT/openapi.json" "${AUTH[@]}" --checks all --max-time "${MAXTIME:-240}" \
    --workers 2 --suppress-health-check all > "$DATA/st.txt" 2>&1
echo "schemathesis exit status $? (failures other than server errors are listed in /tmp/st_$PORT.txt)"
kill -INT $SERVER
wait $SERVER
cp "$DATA/st.txt" "/tmp/st_$PORT.txt"
cp "$DATA/server.log" "/tmp/server_$PORT.log"
echo "requests answered: $(grep -cE 'HTTP/1.1" [0-9]{3}' "$DATA/server.log")"
echo "server errors (5xx): $(grep -cE 'HTTP/1.1" 5[0-9]{2}' "$DATA/server.log")"
grep -oE 'HTTP/1.1" [0-9]{3}' "$DATA/server.log" | sort | uniq -c | sort -rn
sed -n '/SUMMARY/,$p' "$DATA/st.txt"
rm -rf "$DATA"
