#!/usr/bin/env bash
# The non-browser client session of the recordings: curl over HTTP/1.1
# keep-alive, pipelined requests and a WebSocket written by hand with bash.
#
#   curl-session.sh IP PORT [REPEAT]
#
# IP is the fixture server's address (its names resolve there), PORT its
# cleartext port; REPEAT (default 1) runs the curl part that many times, for
# sessions that need more packets.
set -euo pipefail
ip=$1
port=$2
repeat=${3:-1}

api=http://api.corscope.test:$port
safe=http://safe.corscope.test:$port
app=http://app.corscope.test:$port
evil=http://evil.example:$port
cookie=session=s3ss10n-fixture-alice
resolve=(--resolve "api.corscope.test:$port:$ip" --resolve "safe.corscope.test:$port:$ip")

for _ in $(seq "$repeat"); do
	# One curl process: requests to one host share a keep-alive connection.
	curl -sS --http1.1 "${resolve[@]}" -o /dev/null \
		-H "Origin: $evil" -b "$cookie" "$api/reflect" \
		--next -o /dev/null -H "Origin: http://attacker.example:$port" -b "$cookie" "$api/reflect" \
		--next -o /dev/null -H "Origin: http://evilcorscope.test:$port" -b "$cookie" "$api/suffix-check" \
		--next -o /dev/null -H "Origin: http://api.corscope.test.evil.example:$port" -b "$cookie" "$api/prefix-check" \
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
		--next -o /dev/null -H "Origin: http://attacker.example:$port" -b "$cookie" \
		--data 'to=mallory&amount=1000' "$api/csrf/transfer" \
		--next -o /dev/null --compressed -H "Origin: $app" -b "$cookie" "$safe/gzip" \
		--next -o /dev/null -H "Origin: $app" -b "$cookie" "$safe/chunked" \
		--next -o /dev/null -H "Origin: $evil" -b "$cookie" "$safe/profile"
done

# Pipelining: three requests written at once on one connection, the last a
# HEAD that closes it.
exec 3<>"/dev/tcp/$ip/$port"
printf 'GET /reflect HTTP/1.1\r\nHost: api.corscope.test:%s\r\nOrigin: %s\r\n\r\nGET /wildcard HTTP/1.1\r\nHost: api.corscope.test:%s\r\nOrigin: %s\r\n\r\nHEAD /ok/profile HTTP/1.1\r\nHost: api.corscope.test:%s\r\nOrigin: %s\r\nConnection: close\r\n\r\n' \
	"$port" "$evil" "$port" "$evil" "$port" "$app" >&3
timeout 10 cat <&3 >/dev/null || true
exec 3<&-

# A WebSocket handshake with a foreign Origin and a cookie over ws://, one
# masked text frame ("hi", mask 01 02 03 04) and a masked close.
exec 3<>"/dev/tcp/$ip/$port"
printf 'GET /ws HTTP/1.1\r\nHost: api.corscope.test:%s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: Y29yc2NvcGUtZml4dHVyZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: %s\r\nCookie: %s\r\n\r\n' \
	"$port" "$evil" "$cookie" >&3
sleep 0.3
printf '\x81\x82\x01\x02\x03\x04\x69\x6b' >&3
sleep 0.3
printf '\x88\x80\x01\x02\x03\x04' >&3
timeout 5 cat <&3 >/dev/null || true
exec 3<&-
