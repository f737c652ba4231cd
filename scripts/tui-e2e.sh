#!/usr/bin/env bash
# End-to-end check of the terminal UI in a real terminal: runs the binary in
# tmux (200x50), types keys with send-keys and reads the screen with
# capture-pane. Usage: scripts/tui-e2e.sh [CAPTURE_DIR]
# CAPTURE_DIR (optional) keeps the screens as text files (README shots).
set -euo pipefail

cd "$(dirname "$0")/.."
if ! command -v tmux >/dev/null 2>&1; then
	if [[ -n "${CORSCOPE_E2E_REQUIRE:-}" ]]; then
		echo "tui-e2e: tmux is not installed" >&2
		exit 2
	fi
	echo "tui-e2e: skipped: tmux is not installed"
	exit 0
fi

work=$(mktemp -d)
session="corscope-e2e-$$"
# A private tmux server: the run neither sees nor disturbs the user's.
sock="corscope-e2e-$$"
tm() { tmux -L "$sock" "$@"; }
captures=${1:-$work/captures}
mkdir -p "$captures"
cleanup() {
	tm kill-server 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

db="$work/e2e.db"
demo="$work/corscope-tui-demo"
go build -o "$demo" ./tui/internal/demo
"$demo" --db "$db" --fixture --fill-only

# The real CLI when it has the ui command; the UI's own demo main otherwise.
ui=("$demo" --db "$db")
if go build -o "$work/corscope" ./cmd/corscope 2>/dev/null && "$work/corscope" ui --help >/dev/null 2>&1; then
	ui=("$work/corscope" ui --db "$db")
elif [[ -n "${CORSCOPE_E2E_REQUIRE:-}" ]]; then
	echo "tui-e2e: cmd/corscope does not build or has no ui command" >&2
	exit 2
fi
echo "tui-e2e: running ${ui[*]##*/}"

fail() {
	echo "tui-e2e: FAIL: $*" >&2
	echo "--- screen ---" >&2
	tm capture-pane -p -t "$session" >&2 || true
	exit 1
}

screen() { tm capture-pane -p -t "$session"; }

# wait_for TEXT...: poll the screen until every TEXT (fixed string) shows.
wait_for() {
	local deadline=$((SECONDS + 10)) s ok
	while ((SECONDS < deadline)); do
		s=$(screen)
		ok=1
		for want in "$@"; do
			grep -qF -- "$want" <<<"$s" || { ok=0; break; }
		done
		((ok)) && return 0
		sleep 0.1
	done
	fail "screen never showed: $*"
}

shot() { screen >"$captures/$1.txt"; }

exitfile="$work/exit"
tm new-session -d -s "$session" -x 200 -y 50 "TERM=xterm-256color ${ui[*]}; echo \$? >$exitfile; sleep 60"

# 1. The first screen of a database with findings lists them.
wait_for "findings (2)" "cors-reflect-any-credentials" "▼ HIGH (1)"
shot 1-findings

# 2. :exchanges (with tab completion) lists the exchanges, preflights included.
tm send-keys -t "$session" ':' && tm send-keys -t "$session" -l 'exch' && tm send-keys -t "$session" Tab
wait_for ":exchanges"
tm send-keys -t "$session" Enter
wait_for "exchanges (5)" "OPTIONS" "https://api.example.com/v1/user?id=7" "↳"
shot 2-exchanges

# 3. g then Enter opens the first exchange's detail with its headers; the
#    hostile header is shown literally and changes nothing else on screen.
tm send-keys -t "$session" G && sleep 0.2 && tm send-keys -t "$session" g && sleep 0.2
tm send-keys -t "$session" Enter
hostile='X-Note: [red]INJECTED[-] \x1b[2J [:::https://evil.example/]click'
wait_for "#1 GET https://api.example.com/v1/profile" "Host: api.example.com" "Origin: https://app.example.com" "$hostile"
s=$(screen)
[[ $(wc -l <<<"$s") -eq 50 ]] || fail "screen is not 50 lines"
head -1 <<<"$s" | grep -qF "corscope" || fail "status line gone from the top"
tail -1 <<<"$s" | grep -qF "? help" || fail "hint bar gone from the bottom"
shot 3-detail-request
tm send-keys -t "$session" Tab
wait_for "X-Debug: [red]INJECTED[-]" "filename=report<U+202E>fdp.exe"
shot 4-detail-response
tm send-keys -t "$session" Tab
wait_for "CORS headers" "Pairing"
shot 5-detail-verdict

# 4. ? shows the help of the current view.
tm send-keys -t "$session" '?'
wait_for "Keys: exchange detail" "esc/q" "jump between a preflight and its actual request"
shot 6-help
tm send-keys -t "$session" Escape && sleep 0.3

# 5. The preflight/actual pair, the filter language, the hosts view.
tm send-keys -t "$session" Escape && sleep 0.3
wait_for "exchanges (5)"
tm send-keys -t "$session" f && tm send-keys -t "$session" -l '~x'
wait_for "~x at 1: unknown operator"
tm send-keys -t "$session" BSpace BSpace && tm send-keys -t "$session" -l '~m PUT & ~cred & ~sev high'
tm send-keys -t "$session" Enter
wait_for "exchanges (1) filter: ~m PUT & ~cred & ~sev high" "v1/user?id=7"
tm send-keys -t "$session" Enter
wait_for "#3 PUT"
tm send-keys -t "$session" p
wait_for "#2 OPTIONS" "Access-Control-Request-Method: PUT"
shot 7-preflight
tm send-keys -t "$session" ':' && tm send-keys -t "$session" -l 'hosts' && tm send-keys -t "$session" Enter
wait_for "hosts (2)" "Allowed origins" "with credentials"
shot 8-hosts

# 6. Q quits with exit status 0.
tm send-keys -t "$session" Q
deadline=$((SECONDS + 10))
while [[ ! -s $exitfile ]] && ((SECONDS < deadline)); do sleep 0.1; done
[[ -s $exitfile ]] || fail "Q did not quit"
code=$(cat "$exitfile")
[[ $code == 0 ]] || fail "exit status $code"
echo "tui-e2e: 1 passed, 0 failed"
