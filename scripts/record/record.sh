#!/usr/bin/env bash
# Records corscope's HAR and capture fixtures from real tools: headless
# Chromium (raw CDP and Playwright), curl and bash, against
# internal/fixtureserver on loopback, captured with tcpdump and dumpcap.
# What each output is: testdata/README.md. Needs root (apt-get, capture on lo).
#
#   scripts/record/record.sh            # writes testdata/har and testdata/pcap
#   OUT=/tmp/fx scripts/record/record.sh
#
# Environment: HTTP_PORT (18080), HTTPS_PORT (18443; pick others when another
# program holds them: the server then fails to start), OUT (the repo's testdata),
# CHROMIUM (/usr/bin/chromium), SKIP_TLS=1 to leave out the TLS captures,
# SKIP_LOSSY=1 to leave out the impaired-link session (it needs network
# namespaces and TUN devices; it is skipped by itself where they are missing).
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
[[ ${SKIP_LOSSY:-} == 1 ]] || command -v ip >/dev/null || need_apt+=(iproute2)
if ((${#need_apt[@]})); then
	log "installing ${need_apt[*]}"
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_apt[@]}"
fi
if [[ ! -d $here/node_modules/playwright-core ]]; then
	(cd "$here" && npm ci --no-audit --no-fund)
fi
(cd "$root" && go build -o "$work/fixtureserver" ./internal/fixtureserver/cmd/fixtureserver &&
	go build -o "$work/lossylink" ./internal/fixtureserver/cmd/lossylink)

# ---------------------------------------------------------------- processes
server_pid=""
capture_pids=()

lossy_pid=""
lossy_ns=(cs-lossy-cli cs-lossy-srv)

cleanup() {
	for pid in "${capture_pids[@]}" $server_pid $lossy_pid; do
		kill "$pid" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	for ns in "${lossy_ns[@]}"; do
		ip netns del "$ns" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT

# start_server ACCESS_LOG: a fresh server per session, so each access log
# lists exactly the requests of that session.
# LISTEN_IP and SERVER_NETNS (both optional) put it elsewhere than loopback.
start_server() {
	rm -f "$work/info.json"
	local ip=${LISTEN_IP:-127.0.0.1} prefix=()
	[[ -n ${SERVER_NETNS:-} ]] && prefix=(ip netns exec "$SERVER_NETNS")
	"${prefix[@]}" "$work/fixtureserver" -http "$ip:$http_port" -https "$ip:$https_port" \
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

bash "$here/curl-session.sh" 127.0.0.1 "$http_port"

stop_captures
stop_server

# ---------------------------------------------------------------- curl over TLS 1.2/1.3, HTTP/1.1 and h2
if [[ ${SKIP_TLS:-} != 1 ]]; then
	log "session curl-https (TLS 1.2 and 1.3, HTTP/1.1 and h2, key log)"
	start_server "$pcap_dir/curl-https.served.ndjson.tmp"
	rm -f "$pcap_dir/curl-https.keylog"
	tcpdump_lo "tcp port $https_port" "$pcap_dir/curl-https.pcap"
	cookie=session=s3ss10n-fixture-alice
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

# ---------------------------------------------------------------- impaired link
# This kernel has no netem, so cmd/lossylink forwards between two TUN devices
# in two network namespaces of our own, dropping 3%, holding back 10% behind
# the next packet and sending 1% twice. Real kernel TCP on both ends copes
# (retransmissions, dup ACKs); the captures on either side show the result.
if [[ ${SKIP_LOSSY:-} != 1 ]] && ip netns add cs-lossy-probe 2>/dev/null && ip netns del cs-lossy-probe; then
	log "session lossy (curl and Chromium through a TUN link with 3% loss, 10% reordering, 1% duplication)"
	cli=${lossy_ns[0]} srv=${lossy_ns[1]}
	for ns in "$cli" "$srv"; do
		ip netns del "$ns" 2>/dev/null || true
		ip netns add "$ns"
		ip -n "$ns" link set lo up
	done
	"$work/lossylink" -a cs-tuna -b cs-tunb -loss 0.03 -reorder 0.10 -dup 0.01 -seed 7 >"$work/lossy.out" 2>&1 &
	lossy_pid=$!
	for _ in $(seq 50); do grep -qs ready "$work/lossy.out" && break; sleep 0.1; done
	# Addresses from TEST-NET-1 (RFC 5737), which exist only inside these namespaces.
	ip link set cs-tuna netns "$cli"
	ip link set cs-tunb netns "$srv"
	ip -n "$cli" addr add 192.0.2.1 peer 192.0.2.2 dev cs-tuna
	ip -n "$srv" addr add 192.0.2.2 peer 192.0.2.1 dev cs-tunb
	ip -n "$cli" link set cs-tuna up
	ip -n "$srv" link set cs-tunb up
	LISTEN_IP=192.0.2.2 SERVER_NETNS=$srv start_server "$pcap_dir/lossy.served.ndjson.tmp"
	# Raw IP framing (TUN devices): one capture at each end of the link.
	start_capture "$pcap_dir/lossy-server-side.pcap" ip netns exec "$srv" tcpdump -i cs-tunb -U -s 0 \
		-w "$pcap_dir/lossy-server-side.pcap" "$http_filter"
	start_capture "$pcap_dir/lossy-client-side.pcap" ip netns exec "$cli" tcpdump -i cs-tuna -U -s 0 \
		-w "$pcap_dir/lossy-client-side.pcap" "$http_filter"
	ip netns exec "$cli" bash "$here/curl-session.sh" 192.0.2.2 "$http_port" 3
	ip netns exec "$cli" node "$here/record.mjs" --chromium "$chromium" --info "$work/info.json" \
		--mode cdp --scheme http --out "$work/lossy.har"
	stop_captures
	stop_server
	kill -TERM "$lossy_pid"
	wait "$lossy_pid" || true
	lossy_pid=""
	log "lossylink: $(tr '\n' ' ' <"$work/lossy.out")"
	for ns in "$cli" "$srv"; do ip netns del "$ns"; done
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
