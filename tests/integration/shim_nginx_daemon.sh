#!/bin/bash
# shim_nginx_daemon.sh — nginx with its default process model under the
# shim: a master, two workers and `daemon on` (issue 7).  The launch
# returns when nginx daemonizes: the process that owns the stack exits
# while the daemon (its fork) holds the listeners, so a keeper process
# takes the session over (shim/README "Exit and fork") and serves the
# master and its workers.
#   - the launch returns 0 within 20 s; the pid file names a live master
#     with two workers; exactly one more process lives in the test's
#     namespace: the keeper;
#   - kernel-side wrk -c 64 -t 2 -d 5s over IPv4: at least 3000
#     requests, every one 2xx, no socket error; three files fetched with
#     curl over IPv4 and IPv6, bodies checked by sha256;
#   - `nginx -s stop`, itself a separate launch under netshim --sandbox
#     (its own namespace and device; it only signals the master through
#     the pid file), exits 0; within 15 s the
#     master, the workers and the keeper are gone and no process is left
#     in the namespace; nginx logged no [alert]/[crit]/[emerg] and only
#     200s.
TEST=shim_nginx_daemon
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/shim_lib.inc"
. "$(dirname "$0")/shim_prog_lib.inc"
. "$(dirname "$0")/shim_nginx.inc"

for p in curl nginx wrk; do
	command -v "$p" >/dev/null 2>&1 ||
		fail "$p is not installed (Debian: apt-get install nginx-light wrk curl)"
done

# The daemon and the keeper are nobody's children here: stop every process
# left in the test's own namespace (all of them started by this test) before
# lib.sh deletes it.
ns_reap() {
	local pids i
	[ -n "$NS_MADE" ] || return 0
	pids=$(ip netns pids "$NS" 2>/dev/null)
	[ -n "$pids" ] || return 0
	kill -TERM $pids 2>/dev/null
	i=0
	while [ -n "$(ip netns pids "$NS" 2>/dev/null)" ] && [ "$i" -lt 30 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	pids=$(ip netns pids "$NS" 2>/dev/null)
	[ -z "$pids" ] || kill -KILL $pids 2>/dev/null
}
trap 'shim_rc=$?; shim_cleanup; ns_reap; (exit $shim_rc); cleanup' EXIT

shim_ns_setup
T0=$(now_ms)
mkdir "$TMPD/www"
printf 'small file %0500d\n' 0 >"$TMPD/www/small"
for i in 1 2 3; do
	head -c $((20000 * i)) /dev/urandom >"$TMPD/www/f$i"
done
nginx_conf 2 on
CONF=$TMPD/nginx/nginx.conf
PIDF=$TMPD/nginx/nginx.pid

# ---- start: the launch returns when nginx daemonizes ----------------------------
t=$(now_ms)
tshim 20 nginx -c "$CONF" -e "$TMPD/nginx/error.log" >"$TMPD/start.out" 2>&1 || {
	rc=$?
	sed 's/^/    /' "$TMPD/start.out"
	tail -n 20 "$TMPD/nginx/error.log" 2>/dev/null | sed 's/^/    nginx: /'
	fail "netshim -- nginx (daemon on) exited $rc"
}
log "the launch returned after $(ms_since "$t") ms (nginx daemonized)"
wait_for 5 "no nginx pid file $PIDF 5 s after the launch returned" test -s "$PIDF"
MASTER=$(cat "$PIDF")
kill -0 "$MASTER" 2>/dev/null || fail "the nginx master (pid $MASTER, from its pid file) is not running"
# the workers and the keeper: every other process of the namespace
i=0
while :; do
	WORKERS=$(pgrep -P "$MASTER" | sort -n | paste -sd ' ')
	[ "$(echo $WORKERS | wc -w)" = 2 ] && break
	i=$((i + 1))
	[ "$i" -le 50 ] || fail "the nginx master (pid $MASTER) has workers '$WORKERS', not 2, after 5 s"
	sleep 0.1
done
KEEPER=
for p in $(ip netns pids "$NS"); do
	case " $MASTER $WORKERS " in
	*" $p "*) ;;
	*) KEEPER="$KEEPER $p" ;;
	esac
done
KEEPER=${KEEPER# }
[ -n "$KEEPER" ] || fail "no keeper: the namespace holds only nginx ($MASTER $WORKERS)"
[ "$(echo $KEEPER | wc -w)" = 1 ] ||
	fail "more than one other process in the namespace (keeper expected): $(ps -o pid=,args= -p "${KEEPER// /,}")"
log "master $MASTER, workers $WORKERS, keeper $KEEPER ($(tr '\0' ' ' </proc/"$KEEPER"/cmdline))"

# ---- traffic through the keeper's stack --------------------------------------------
wait_http http://192.0.2.2:8080/small
wrk_check 4 http://192.0.2.2:8080/small 3000
n=0
for i in 1 2 3; do
	for url in "http://$STACK4:8080/f$i" "http://[$STACK6]:8080/f$i"; do
		rm -f "$TMPD/got"
		tkern 10 curl -sS --fail -o "$TMPD/got" "$url" 2>"$TMPD/curl.err" ||
			fail "curl $url failed (exit $?): $(cat "$TMPD/curl.err")"
		same "$TMPD/www/f$i" "$TMPD/got" "curl $url"
		n=$((n + 1))
	done
done
log "$n bodies fetched with curl (IPv4, IPv6): sha256 matches"
for p in $MASTER $WORKERS $KEEPER; do
	kill -0 "$p" 2>/dev/null || fail "process $p (master/worker/keeper) died during the traffic"
done

# ---- nginx -s stop, a launch of its own; nothing left behind -------------------
t=$(now_ms)
# (not on ns0: the keeper holds it, and a second launch on a held device
# is refused as busy — two launches are two stacks)
tkern 20 "$NETSHIM" --sandbox -- nginx -c "$CONF" -s stop >"$TMPD/stop.out" 2>&1 || {
	rc=$?
	sed 's/^/    /' "$TMPD/stop.out"
	fail "netshim -- nginx -s stop exited $rc"
}
i=0
while :; do
	left=
	for p in $MASTER $WORKERS $KEEPER; do
		kill -0 "$p" 2>/dev/null && left="$left $p"
	done
	[ -z "$left" ] && [ -z "$(ip netns pids "$NS")" ] && break
	i=$((i + 1))
	[ "$i" -le 150 ] || {
		for p in $(ip netns pids "$NS"); do
			printf '    %s: %s\n' "$p" "$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
		done
		fail "15 s after nginx -s stop, still running:${left:- (none of ours)}; in the namespace: $(ip netns pids "$NS" | tr '\n' ' ')"
	}
	sleep 0.1
done
log "nginx -s stop: master, workers and keeper gone after $(ms_since "$t") ms; the namespace is empty"

if grep -E '\[(alert|crit|emerg)\]' "$TMPD/nginx/error.log" >"$TMPD/bad"; then
	head -n 20 "$TMPD/bad" | sed 's/^/    /'
	fail "nginx logged alerts (above)"
fi
other=$(grep -vc '" 200 ' "$TMPD/nginx/access.log")
[ "$other" = 0 ] || fail "nginx answered $other requests with something other than 200"
pass "nginx daemon (master + 2 workers) through a keeper: $WRK_REQ wrk requests, $n checked bodies, stopped cleanly ($(ms_since "$T0") ms)"
