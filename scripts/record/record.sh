#!/usr/bin/env bash
# Records corscope's HAR and capture fixtures from real tools: headless
# Chromium (raw CDP and Playwright), curl and bash, against
# internal/fixtureserver on loopback, captured with tcpdump and dumpcap.
# What each output is: testdata/README.md. Needs root (apt-get, capture on lo).
#
#   scripts/record/record.sh            # writes testdata/har and testdata/pcap
#   OUT=/tmp/fx scripts/record/record.sh
#
# Environment: HTTP_PORT (18080), HTTPS_PORT (18443), OUT (the repo's testdata),
# CHROMIUM (/usr/bin/chromium), SKIP_TLS=1 to leave out the TLS captures.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
http_port=${HTTP_PORT:-18080}
https_port=${HTTPS_PORT:-18443}
out=${OUT:-$root/testdata}
har_dir=$out/har
pcap_dir=$out/pcap
chromium=${CHROMIUM:-/usr/bin/chromium}
work=$(mktemp -d /tmp/corscope-record.XXXXXX)
mkdir -p "$har_dir" "$pcap_dir"

log() { printf '[record.sh] %s\n' "$*" >&2; }

# ---------------------------------------------------------------- tools
need_apt=()
command -v "$chromium" >/dev/null || need_apt+=(chromium)
command -v tcpdump >/dev/null || need_apt+=(tcpdump)
command -v tshark >/dev/null || need_apt+=(tshark)
command -v editcap >/dev/null || need_apt+=(wireshark-common)
command -v jq >/dev/null || need_apt+=(jq)
command -v curl >/dev/null || need_apt+=(curl)
command -v node >/dev/null || need_apt+=(nodejs npm)
if ((${#need_apt[@]})); then
	log "installing ${need_apt[*]}"
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_apt[@]}"
fi
if [[ ! -d $here/node_modules/playwright-core ]]; then
	(cd "$here" && npm ci --no-audit --no-fund)
fi
(cd "$root" && go build -o "$work/fixtureserver" ./internal/fixtureserver/cmd/fixtureserver)

# ---------------------------------------------------------------- processes
server_pid=""
capture_pids=()

cleanup() {
	for pid in "${capture_pids[@]}" $server_pid; do
		kill "$pid" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# start_server ACCESS_LOG: a fresh server per session, so each access log
# lists exactly the requests of that session.
start_server() {
	rm -f "$work/info.json"
	"$work/fixtureserver" -http "127.0.0.1:$http_port" -https "127.0.0.1:$https_port" \
		-info-out "$work/info.json" -cert-out "$work/cert.pem" -access-log "$1" >/dev/null 2>"$work/server.err" &
	server_pid=$!
	for _ in $(seq 50); do
		[[ -s $work/info.json ]] && return 0
		sleep 0.1
	done
	log "fixture server did not start:"
	cat "$work/server.err" >&2
	exit 1
}

stop_server() {
	kill "$server_pid" 2>/dev/null || true
	wait "$server_pid" 2>/dev/null || true
	server_pid=""
}

# start_capture OUTPUT COMMAND...: a capture tool in the background,
# returned once it is listening (tcpdump and dumpcap say so on stderr).
start_capture() {
	local output=$1
	shift
	local err="$work/$(basename "$output").err"
	"$@" 2>"$err" &
	capture_pids+=($!)
	for _ in $(seq 100); do
		grep -qiE 'listening on|capturing on' "$err" && return 0
		sleep 0.1
	done
	log "capture for $output did not start:"
	cat "$err" >&2
	exit 1
}

stop_captures() {
	sleep 1 # the last FIN/ACKs
	for pid in "${capture_pids[@]}"; do
		kill -INT "$pid" 2>/dev/null || true
	done
	for pid in "${capture_pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	capture_pids=()
}

# tcpdump_lo FILTER OUTPUT [OPTIONS...]: Ethernet-framed pcap of lo.
tcpdump_lo() { start_capture "$2" tcpdump -i lo -U -s 0 "${@:3}" -w "$2" "$1"; }
# dumpcap_lo FILTER OUTPUT: Wireshark's capture engine, pcapng.
dumpcap_lo() { start_capture "$2" dumpcap -i lo -f "$1" -w "$2"; }

record() { node "$here/record.mjs" --chromium "$chromium" --info "$work/info.json" "$@"; }

http_filter="tcp port $http_port"
both_filter="tcp port $http_port or tcp port $https_port"

# ---------------------------------------------------------------- Chromium, cleartext
log "session chromium-http (CDP HAR + pcap + pcapng)"
start_server "$pcap_dir/chromium-http.served.ndjson.tmp"
tcpdump_lo "$http_filter" "$pcap_dir/chromium-http.pcap"
dumpcap_lo "$http_filter" "$pcap_dir/chromium-http.pcapng"
record --mode cdp --scheme http --out "$har_dir/chromium-cdp-http.har"
stop_captures
stop_server

# ---------------------------------------------------------------- Chromium, TLS + h2
if [[ ${SKIP_TLS:-} != 1 ]]; then
	log "session chromium-https (CDP HAR + TLS pcap + key log)"
	start_server "$pcap_dir/chromium-https.served.ndjson.tmp"
	rm -f "$pcap_dir/chromium-https.keylog"
	tcpdump_lo "$both_filter" "$pcap_dir/chromium-https.pcap"
	record --mode cdp --scheme https --keylog "$pcap_dir/chromium-https.keylog" --out "$har_dir/chromium-cdp-https.har"
	stop_captures
	stop_server
	editcap --inject-secrets "tls,$pcap_dir/chromium-https.keylog" -F pcapng \
		"$pcap_dir/chromium-https.pcap" "$pcap_dir/chromium-https-dsb.pcapng"
fi

# DevTools' own export has no per-entry _requestId (only _initiator.requestId
# on preflights): this copy is what a consumer gets from a real DevTools export.
devtools_scheme=https
[[ ${SKIP_TLS:-} == 1 ]] && devtools_scheme=http
jq 'del(.log.entries[]._requestId) | .log.creator.name += " (without _requestId, as DevTools exports)"' \
	"$har_dir/chromium-cdp-$devtools_scheme.har" >"$har_dir/chromium-devtools-$devtools_scheme.har"

# ---------------------------------------------------------------- Playwright
for scheme in http https; do
	[[ $scheme == https && ${SKIP_TLS:-} == 1 ]] && continue
	log "session playwright-$scheme (recordHar)"
	start_server /dev/null
	record --mode playwright --scheme "$scheme" --out "$har_dir/playwright-$scheme.har"
	stop_server
done

# ---------------------------------------------------------------- curl and bash, cleartext
log "session curl-http (keep-alive, gzip, chunked, HEAD, preflight-like OPTIONS, pipelining, WebSocket)"
start_server "$pcap_dir/curl-http.served.ndjson.tmp"
tcpdump_lo "$http_filter" "$pcap_dir/curl-http.pcap" --time-stamp-precision=nano
dumpcap_lo "$http_filter" "$pcap_dir/curl-http.pcapng"
# -i any: LINUX_SLL2 framing, what most people's captures look like today.
start_capture "$pcap_dir/curl-http-any.pcap" tcpdump -i any -U -s 0 -w "$pcap_dir/curl-http-any.pcap" "$http_filter"

api=http://api.corscope.test:$http_port
safe=http://safe.corscope.test:$http_port
app=http://app.corscope.test:$http_port
evil=http://evil.example:$http_port
cookie=session=s3ss10n-fixture-alice
resolve=(--resolve "api.corscope.test:$http_port:127.0.0.1" --resolve "safe.corscope.test:$http_port:127.0.0.1")
# One curl process: requests to one host share a keep-alive connection.
curl -sS --http1.1 "${resolve[@]}" -o /dev/null \
	-H "Origin: $evil" -b "$cookie" "$api/reflect" \
	--next -o /dev/null -H "Origin: http://attacker.example:$http_port" -b "$cookie" "$api/reflect" \
	--next -o /dev/null -H "Origin: http://evilcorscope.test:$http_port" -b "$cookie" "$api/suffix-check" \
	--next -o /dev/null -H "Origin: http://api.corscope.test.evil.example:$http_port" -b "$cookie" "$api/prefix-check" \
	--next -o /dev/null -H "Origin: null" -b "$cookie" "$api/null" \
	--next -o /dev/null -I -H "Origin: $evil" "$api/wildcard" \
	--next -o /dev/null -X OPTIONS -H "Origin: $app" -H "Access-Control-Request-Method: DELETE" "$api/preflight-rejected" \
	--next -o /dev/null -X DELETE -H "Origin: $app" -b "$cookie" "$api/preflight-rejected" \
	--next -o /dev/null -X OPTIONS -H "Origin: $app" -H "Access-Control-Request-Method: PUT" \
	-H "Access-Control-Request-Headers: content-type" "$api/preflight-ok-unshared" \
	--next -o /dev/null -X PUT -H "Origin: $app" -H "Content-Type: application/json" -b "$cookie" \
	--data '{"name":"alice"}' "$api/preflight-ok-unshared" \
	--next -o /dev/null -H "Origin: $app" "$api/no-vary" \
	--next -o /dev/null "$api/no-vary" \
	--next -o /dev/null -H "Origin: http://attacker.example:$http_port" -b "$cookie" \
	--data 'to=mallory&amount=1000' "$api/csrf/transfer" \
	--next -o /dev/null --compressed -H "Origin: $app" -b "$cookie" "$safe/gzip" \
	--next -o /dev/null -H "Origin: $app" -b "$cookie" "$safe/chunked" \
	--next -o /dev/null -H "Origin: $evil" -b "$cookie" "$safe/profile"

# Pipelining: three requests written at once on one connection, the last
# a HEAD that closes it.
exec 3<>"/dev/tcp/127.0.0.1/$http_port"
printf 'GET /reflect HTTP/1.1\r\nHost: api.corscope.test:%s\r\nOrigin: %s\r\n\r\nGET /wildcard HTTP/1.1\r\nHost: api.corscope.test:%s\r\nOrigin: %s\r\n\r\nHEAD /ok/profile HTTP/1.1\r\nHost: api.corscope.test:%s\r\nOrigin: %s\r\nConnection: close\r\n\r\n' \
	"$http_port" "$evil" "$http_port" "$evil" "$http_port" "$app" >&3
timeout 5 cat <&3 >/dev/null || true
exec 3<&-

# A WebSocket handshake with a foreign Origin and a cookie over ws://, one
# masked text frame ("hi", mask 01 02 03 04) and a masked close.
exec 3<>"/dev/tcp/127.0.0.1/$http_port"
printf 'GET /ws HTTP/1.1\r\nHost: api.corscope.test:%s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: Y29yc2NvcGUtZml4dHVyZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: %s\r\nCookie: %s\r\n\r\n' \
	"$http_port" "$evil" "$cookie" >&3
sleep 0.3
printf '\x81\x82\x01\x02\x03\x04\x69\x6b' >&3
sleep 0.3
printf '\x88\x80\x01\x02\x03\x04' >&3
timeout 3 cat <&3 >/dev/null || true
exec 3<&-

stop_captures
stop_server

# ---------------------------------------------------------------- curl over TLS 1.2/1.3, HTTP/1.1 and h2
if [[ ${SKIP_TLS:-} != 1 ]]; then
	log "session curl-https (TLS 1.2 and 1.3, HTTP/1.1 and h2, key log)"
	start_server "$pcap_dir/curl-https.served.ndjson.tmp"
	rm -f "$pcap_dir/curl-https.keylog"
	tcpdump_lo "tcp port $https_port" "$pcap_dir/curl-https.pcap"
	sapi=https://api.corscope.test:$https_port
	sevil=https://evil.example:$https_port
	sapp=https://app.corscope.test:$https_port
	tls_common=(-sS --cacert "$work/cert.pem" --resolve "api.corscope.test:$https_port:127.0.0.1" -o /dev/null)
	for variant in "--http1.1 --tlsv1.2 --tls-max 1.2" "--http1.1 --tlsv1.3" "--http2 --tlsv1.2 --tls-max 1.2" "--http2 --tlsv1.3"; do
		# shellcheck disable=SC2086 # the variant is a list of flags
		SSLKEYLOGFILE="$pcap_dir/curl-https.keylog" curl "${tls_common[@]}" $variant \
			-H "Origin: $sevil" -b "$cookie" "$sapi/reflect" \
			--next "${tls_common[@]}" $variant -X OPTIONS -H "Origin: $sapp" \
			-H "Access-Control-Request-Method: POST" -H "Access-Control-Request-Headers: content-type" "$sapi/max-age" \
			--next "${tls_common[@]}" $variant -H "Origin: http://app.corscope.test:$http_port" -b "$cookie" "$sapi/http-origin"
	done
	stop_captures
	stop_server
	editcap --inject-secrets "tls,$pcap_dir/curl-https.keylog" -F pcapng \
		"$pcap_dir/curl-https.pcap" "$pcap_dir/curl-https-dsb.pcapng"
fi

# The access logs carry wall-clock times and ephemeral ports only; keep them sorted by time.
for f in "$pcap_dir"/*.served.ndjson.tmp; do
	[[ -e $f ]] || continue
	jq -c -s 'sort_by(.time)[]' "$f" >"${f%.tmp}"
	rm -f "$f"
done

# tcpdump writes as its own user, dumpcap with mode 0600: make them plain files.
chmod 644 "$har_dir"/*.har "$pcap_dir"/*

# ---------------------------------------------------------------- checks
log "checks"
for f in "$har_dir"/*.har; do
	printf '%-34s entries=%-3s preflights=%-2s origin-null=%-2s with-cookie=%-2s websocket=%-2s form-posts=%s\n' "$(basename "$f")" \
		"$(jq '.log.entries|length' "$f")" \
		"$(jq '[.log.entries[]|select(._resourceType=="preflight")]|length' "$f")" \
		"$(jq '[.log.entries[]|select(any(.request.headers[]; (.name|ascii_downcase)=="origin" and .value=="null"))]|length' "$f")" \
		"$(jq '[.log.entries[]|select(any(.request.headers[]; (.name|ascii_downcase)=="cookie"))]|length' "$f")" \
		"$(jq '[.log.entries[]|select(.request.url|startswith("ws"))]|length' "$f")" \
		"$(jq '[.log.entries[]|select(.request.method=="POST" and (.request.postData.mimeType//""|startswith("application/x-www-form-urlencoded")))]|length' "$f")"
done
# tshark_counts FILE [tshark options]: HTTP/1.x requests and responses and
# HTTP/2 HEADERS frames, counted per message (one packet can carry several).
tshark_count() {
	local f=$1 filter=$2 field=$3
	shift 3
	tshark -r "$f" "$@" -Y "$filter" -T fields -e "$field" 2>/dev/null | tr ',' '\n' | grep -c . || true
}
tshark_counts() {
	local f=$1
	shift
	printf '%-34s http-requests=%-3s http-responses=%-3s h2-headers-frames=%s\n' "$(basename "$f")" \
		"$(tshark_count "$f" http.request http.request.method "$@")" \
		"$(tshark_count "$f" http.response http.response.code "$@")" \
		"$(tshark -r "$f" "$@" -Y http2 -T fields -e http2.type 2>/dev/null | tr ',' '\n' | grep -cx 1 || true)"
}
for f in "$pcap_dir"/*.pcap "$pcap_dir"/*.pcapng; do
	case $f in
	*chromium-https.pcap) tshark_counts "$f" -o "tls.keylog_file:${f%.pcap}.keylog" -d "tcp.port==$http_port,http" ;;
	*curl-https.pcap) tshark_counts "$f" -o "tls.keylog_file:${f%.pcap}.keylog" ;;
	*) tshark_counts "$f" -d "tcp.port==$http_port,http" ;;
	esac
done
for f in "$pcap_dir"/*.served.ndjson; do
	printf '%-34s served=%s\n' "$(basename "$f")" "$(wc -l <"$f")"
done
ls -l "$har_dir" "$pcap_dir" >&2
