#!/usr/bin/env bash
# Times corscope's pcap ingest against tshark on the same synthetic capture
# of 100,000 HTTP/1.1 keep-alive CORS exchanges (scripts/benchpcap).
#
#   scripts/bench-pcap.sh            # default: 100000 exchanges in $BENCH_DIR
#   N=20000 scripts/bench-pcap.sh    # smaller run
#
# Prints wall time, CPU time and peak RSS of each tool, the ratio, and the
# ratio of corscope to a bare read+decode loop over the same file.
set -euo pipefail

cd "$(dirname "$0")/.."
N=${N:-100000}
DIR=${BENCH_DIR:-${TMPDIR:-/tmp}/corscope-bench}
mkdir -p "$DIR"
PCAP="$DIR/bench-$N.pcap"

go build -o "$DIR/benchpcap" ./scripts/benchpcap
[ -s "$PCAP" ] || "$DIR/benchpcap" -o "$PCAP" -n "$N"

if ! command -v tshark >/dev/null; then
	echo "tshark not found: installing with apt" >&2
	(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tshark) >&2 ||
		(sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tshark) >&2
fi

# corscope: the CLI when it builds, else the pipeline without the store.
if go build -o "$DIR/corscope" ./cmd/corscope 2>/dev/null; then
	rm -f "$DIR/bench.db" "$DIR/bench.db-wal" "$DIR/bench.db-shm"
	CORSCOPE=("$DIR/corscope" ingest --no-progress --db "$DIR/bench.db" "$PCAP")
else
	echo "cmd/corscope does not build: timing the capture pipeline alone" >&2
	CORSCOPE=("$DIR/benchpcap" -ingest "$PCAP")
fi

# measure NAME CMD...: runs CMD under /usr/bin/time -v, output to $DIR/NAME.out
measure() {
	local name=$1
	shift
	/usr/bin/time -v -o "$DIR/$name.time" "$@" >"$DIR/$name.out" 2>"$DIR/$name.err" || {
		echo "$name failed:" >&2
		tail -5 "$DIR/$name.err" >&2
		exit 1
	}
	local wall user sys rss
	wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$DIR/$name.time")
	user=$(awk -F': ' '/User time/ {print $2}' "$DIR/$name.time")
	sys=$(awk -F': ' '/System time/ {print $2}' "$DIR/$name.time")
	rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$DIR/$name.time")
	# m:ss.xx or h:mm:ss -> seconds
	wall=$(echo "$wall" | awk -F: '{ s=0; for (i=1;i<=NF;i++) s=s*60+$i; print s }')
	eval "${name}_wall=$wall ${name}_cpu=$(echo "$user + $sys" | bc) ${name}_rss=$rss"
	printf '%-9s wall %7.2f s   cpu %7.2f s   peak RSS %7d MB\n' "$name" "$wall" "$(echo "$user + $sys" | bc)" $((rss / 1024))
}

echo "capture: $PCAP ($(du -m "$PCAP" | cut -f1) MB, $N exchanges); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
measure decode "$DIR/benchpcap" -ingest "$PCAP" -stage decode
# the capture pipeline alone (reader, decoder, reassembly, HTTP/1), no store
measure pipeline "$DIR/benchpcap" -ingest "$PCAP"
measure corscope "${CORSCOPE[@]}"
# tshark extracting what the comparison asks for: method, URI, host, status,
# Origin and the Access-Control-* fields. The HTTP dissector has no fields
# of its own for those headers; its custom header fields
# (http.custom_http_header_fields) make one per name.
cors_headers=(Origin Access-Control-Allow-Origin Access-Control-Allow-Credentials
	Access-Control-Allow-Methods Access-Control-Allow-Headers Access-Control-Expose-Headers
	Access-Control-Max-Age Access-Control-Request-Method Access-Control-Request-Headers Vary)
tshark_args=(-r "$PCAP" -T fields -E occurrence=a
	-e http.request.method -e http.request.uri -e http.host -e http.response.code)
for h in "${cors_headers[@]}"; do
	tshark_args+=(-o "uat:custom_http_header_fields:\"$h\",\"$h\"" -e "http.header.$h")
done
measure tshark tshark "${tshark_args[@]}"
echo "corscope: $(cat "$DIR/corscope.out" "$DIR/corscope.err" | grep . | tail -1)"
echo "tshark: $(grep -c -v '^[[:space:]]*$' "$DIR/tshark.out") HTTP messages (requests + responses), $(cut -f5 "$DIR/tshark.out" | grep -c .) with Origin"
# ratio A B: A/B to one decimal, "n/a" when B rounds to zero (tiny runs)
ratio() { if [ "$(echo "$2 > 0" | bc)" = 1 ]; then echo "scale=1; $1 / $2" | bc; else echo "n/a "; fi; }
echo "tshark / corscope: wall $(ratio "$tshark_wall" "$corscope_wall")x, cpu $(ratio "$tshark_cpu" "$corscope_cpu")x (target >= 30x, corscope peak RSS <= 300 MB)"
echo "tshark / pipeline without store: wall $(ratio "$tshark_wall" "$pipeline_wall")x, cpu $(ratio "$tshark_cpu" "$pipeline_cpu")x"
echo "corscope / bare decode loop: wall $(ratio "$corscope_wall" "$decode_wall")x, cpu $(ratio "$corscope_cpu" "$decode_cpu")x"
