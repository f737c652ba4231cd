#!/usr/bin/env bash
# Scale benchmark: generates a 300 MB HAR (scripts/genhar) and a
# 100,000-exchange pcap (scripts/benchpcap), times `corscope ingest` on each
# and `corscope analyze` on the resulting database, then `corscope analyze`
# on a database of 1M generated exchanges (scripts/genstore), and prints a
# table.
#
#   scripts/bench.sh              # 300 MB HAR + 100k-exchange pcap
#   BIG=1 scripts/bench.sh        # also a 1 GB HAR and a ~1 GB pcap
#   BENCH_DIR=/scratch scripts/bench.sh
#
# Figures: wall and CPU seconds, peak RSS (/usr/bin/time -v), input MB/s and
# exchanges/s. The machine's load average is printed first: on a shared
# machine the wall times depend on it.
set -euo pipefail

cd "$(dirname "$0")/.."
DIR=${BENCH_DIR:-${TMPDIR:-/tmp}/corscope-bench}
mkdir -p "$DIR"
[ -x /usr/bin/time ] || { echo "bench.sh needs GNU time (/usr/bin/time; apt-get install time)" >&2; exit 2; }

go build -o "$DIR/corscope" ./cmd/corscope
go build -o "$DIR/genhar" ./scripts/genhar
go build -o "$DIR/benchpcap" ./scripts/benchpcap
go build -o "$DIR/genstore" ./scripts/genstore

# inputs: NAME FILE GENERATOR-ARGS... (generated once, reused by later runs)
declare -a NAMES FILES
add_input() {
	local name=$1 file=$2
	shift 2
	if [ ! -s "$file" ]; then
		echo "generating $file" >&2
		"$@" >&2
	fi
	NAMES+=("$name")
	FILES+=("$file")
}
add_input har-300MB "$DIR/bench-300MB.har" "$DIR/genhar" -size 300MB -o "$DIR/bench-300MB.har"
add_input pcap-100k "$DIR/bench-100000.pcap" "$DIR/benchpcap" -n 100000 -o "$DIR/bench-100000.pcap"
if [ "${BIG:-0}" = 1 ]; then
	add_input har-1GB "$DIR/bench-1GB.har" "$DIR/genhar" -size 1GB -o "$DIR/bench-1GB.har"
	# benchpcap writes ~870 bytes of capture per exchange: 1.2M exchanges ≈ 1 GB
	add_input pcap-1GB "$DIR/bench-1200000.pcap" "$DIR/benchpcap" -n 1200000 -o "$DIR/bench-1200000.pcap"
fi

# timed NAME CMD...: runs CMD under GNU time; sets T_WALL T_CPU T_RSS_MB.
timed() {
	local name=$1
	shift
	if ! /usr/bin/time -v -o "$DIR/$name.time" "$@" >"$DIR/$name.out" 2>"$DIR/$name.err"; then
		echo "$name failed (exit $?):" >&2
		tail -5 "$DIR/$name.err" >&2
		exit 1
	fi
	T_WALL=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$DIR/$name.time" |
		awk -F: '{ s=0; for (i=1;i<=NF;i++) s=s*60+$i; print s }')
	T_CPU=$(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {print u+s}' "$DIR/$name.time")
	T_RSS_MB=$(awk -F': ' '/Maximum resident set size/ {printf "%d", $2/1024}' "$DIR/$name.time")
}

echo "machine: $(nproc) cores, $(free -m | awk '/Mem:/ {print $2}') MB RAM; uptime: $(uptime)"
printf '%-30s %9s %8s %8s %9s %9s %12s %11s\n' step "size MB" "wall s" "cpu s" "RSS MB" "MB/s" exchanges "exch/s"
for i in "${!NAMES[@]}"; do
	name=${NAMES[$i]} file=${FILES[$i]}
	db="$DIR/$name.db"
	rm -f "$db" "$db-wal" "$db-shm"
	size_mb=$(( $(stat -c %s "$file") / 1000000 ))
	timed "ingest-$name" "$DIR/corscope" ingest --no-progress --db "$db" "$file"
	ex=$(sqlite3 "$db" 'select count(*) from exchanges' 2>/dev/null ||
		grep -o '[0-9]* exchanges' "$DIR/ingest-$name.err" | head -1 | cut -d' ' -f1)
	printf '%-30s %9d %8.2f %8.2f %9d %9.1f %12d %11.0f\n' "ingest $name" "$size_mb" "$T_WALL" "$T_CPU" "$T_RSS_MB" \
		"$(echo "$size_mb / $T_WALL" | bc -l)" "$ex" "$(echo "$ex / $T_WALL" | bc -l)"
	timed "analyze-$name" "$DIR/corscope" analyze --db "$db"
	printf '%-30s %9s %8.2f %8.2f %9d %9s %12d %11.0f\n' "analyze $name" - "$T_WALL" "$T_CPU" "$T_RSS_MB" - "$ex" \
		"$(echo "$ex / $T_WALL" | bc -l)"
done
# The cost of --redact (keyed hashes of cookies, credentials, tokens).
db="$DIR/redact.db"
rm -f "$db" "$db-wal" "$db-shm" "$db.redact-key"
timed ingest-redact "$DIR/corscope" ingest --no-progress --redact --db "$db" "${FILES[0]}"
ex=$(sqlite3 "$db" 'select count(*) from exchanges' 2>/dev/null || echo 0)
size_mb=$(( $(stat -c %s "${FILES[0]}") / 1000000 ))
printf '%-30s %9d %8.2f %8.2f %9d %9.1f %12d %11.0f\n' "ingest ${NAMES[0]} --redact" "$size_mb" "$T_WALL" "$T_CPU" "$T_RSS_MB" \
	"$(echo "$size_mb / $T_WALL" | bc -l)" "$ex" "$(echo "$ex / $T_WALL" | bc -l)"
# Analysis at scale: a database of 1M generated exchanges (scripts/genstore;
# preflights, cached repeats, a dozen origin classes over 24 hosts),
# analysed fresh and then again (a re-run replaces the first run's results).
db="$DIR/synthetic-1M.db"
if [ ! -s "$db" ]; then
	echo "generating $db" >&2
	"$DIR/genstore" -n 1000000 -db "$db" >&2
fi
cp "$db" "$DIR/analyze-1M.db"
rm -f "$DIR/analyze-1M.db-wal" "$DIR/analyze-1M.db-shm"
for run in first again; do
	timed "analyze-1M-$run" "$DIR/corscope" analyze --db "$DIR/analyze-1M.db"
	printf '%-30s %9s %8.2f %8.2f %9d %9s %12d %11.0f\n' "analyze 1M stored ($run)" - "$T_WALL" "$T_CPU" "$T_RSS_MB" - \
		1000000 "$(echo "1000000 / $T_WALL" | bc -l)"
done
echo "uptime after: $(uptime)"
