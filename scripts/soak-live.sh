#!/usr/bin/env bash
# Soak test of live capture: bounded load on loopback while 'corscope capture
# -i lo' runs; RSS sampled every 10 s, kernel drops and stored exchanges at the end.
#
#   scripts/soak-live.sh [SECONDS=600] [RATE=2500]     (as root: needs CAP_NET_RAW)
#
# Env: PORT (default 18181), OUT (work dir, default a new temp dir), WORKERS (64).
set -euo pipefail
DUR=${1:-600}
RATE=${2:-2500}
PORT=${PORT:-18181}
WORKERS=${WORKERS:-64}
OUT=${OUT:-$(mktemp -d /tmp/corscope-soak.XXXXXX)}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$OUT"
cd "$ROOT"
go build -o "$OUT/corscope" ./cmd/corscope
go build -o "$OUT/soakload" ./scripts/soakload
DB="$OUT/soak.db"
rm -f "$DB" "$DB-wal" "$DB-shm"

echo "soak: ${DUR}s at ${RATE} req/s on 127.0.0.1:${PORT}; files in $OUT"
"$OUT/corscope" capture -i lo --port "$PORT" --db "$DB" >"$OUT/capture.log" 2>&1 &
CAP=$!
trap 'kill -INT $CAP 2>/dev/null || true' EXIT
sleep 1
kill -0 "$CAP" 2>/dev/null || { cat "$OUT/capture.log"; exit 1; }

"$OUT/soakload" -addr "127.0.0.1:$PORT" -rate "$RATE" -workers "$WORKERS" -duration "${DUR}s" >"$OUT/load.json" &
LOAD=$!

start=$(date +%s)
printf '%6s %9s %12s\n' "t(s)" "RSS(MiB)" "stored" | tee "$OUT/rss.txt"
while kill -0 "$LOAD" 2>/dev/null; do
	sleep 10
	rss=$(awk '/VmRSS/ {print $2}' "/proc/$CAP/status")
	stored=$(sqlite3 -readonly "$DB" 'select count(*) from exchanges' 2>/dev/null || echo "?")
	printf '%6d %9.1f %12s\n' "$(($(date +%s) - start))" "$(echo "$rss/1024" | bc -l)" "$stored" | tee -a "$OUT/rss.txt"
done
wait "$LOAD"
sleep 2 # let the last responses reach the ring

t0=$(date +%s.%N)
kill -INT "$CAP"
wait "$CAP" && rc=0 || rc=$?
t1=$(date +%s.%N)
trap - EXIT

echo "--- load generator"
cat "$OUT/load.json"
echo "--- capture (exit $rc, stopped $(echo "$t1 - $t0" | bc -l | cut -c1-5)s after SIGINT)"
cat "$OUT/capture.log" | grep -v '^new finding' || true
stored=$(sqlite3 -readonly "$DB" 'select count(*) from exchanges')
unanswered=$(sqlite3 -readonly "$DB" 'select count(*) from exchanges where status = 0')
responses=$(sed -n 's/.*"responses":\([0-9]*\).*/\1/p' "$OUT/load.json")
echo "--- stored exchanges: $stored (status 0: $unanswered); responses the load generator got: $responses"
if [ "$stored" -ge "$responses" ] && [ "$rc" -eq 0 ]; then echo "soak: OK"; else echo "soak: MISMATCH"; exit 1; fi
