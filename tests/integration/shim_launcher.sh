#!/bin/bash
# shim_launcher.sh — build/netshim (shim/launcher.c) and the refusals of
# libnetshim.so, each in this test's own network namespace:
#   launcher: --help, --version, bad options (125, one line naming the
#   variable), not found (127), not executable (126), programs LD_PRELOAD
#   cannot reach (125), the environment it hands over (NETSHIM_*, absolute
#   paths, LD_PRELOAD prepended), exit status passed through, --sandbox as
#   root and as an ordinary user;
#   library constructor (needs shim/engine.c): a bad NETSHIM_* set directly
#   (125), a device another process holds (125, "busy"), no permission
#   to create a device (125, "permission").
TEST=shim_launcher
. "$(dirname "$0")/lib.sh"

NETSHIM="$ROOT/build/netshim"
LIB="$ROOT/build/libnetshim.so"
ENGINE="(this check needs the library's engine, shim/engine.c)"
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)

# run CMD...: stdout in $TMPD/out, stderr in $TMPD/err, status in $RC.
run() {
	"$@" >"$TMPD/out" 2>"$TMPD/err"
	RC=$?
}

show() {
	log "  status $RC; stderr:"
	sed 's/^/    /' "$TMPD/err"
}

# refused WHAT STATUS REGEX [NOTE]: the last run exited STATUS with exactly
# one line on stderr, which matches REGEX (extended, case-insensitive).
refused() {
	local lines
	lines=$(wc -l <"$TMPD/err")
	if [ "$RC" != "$2" ] || [ "$lines" != 1 ] || ! grep -qiE -- "$3" "$TMPD/err"; then
		show
		fail "$1: wanted status $2 and one line on stderr with \"$3\"${4:+ $4}"
	fi
	log "ok: $1 -> $RC: $(cat "$TMPD/err")"
}

[ -x "$NETSHIM" ] || fail "$NETSHIM is not built: run make all"
[ -f "$LIB" ] || fail "$LIB is not built: run make all"
command -v setpriv >/dev/null 2>&1 || fail "setpriv (util-linux) is not installed"
ns_setup

# A copy nobody (uid 65534) can reach, wherever the tree lives.
chmod 755 "$TMPD"
mkdir "$TMPD/bin"
cp "$NETSHIM" "$LIB" "$TMPD/bin/"
chmod 755 "$TMPD/bin" "$TMPD/bin/netshim" "$TMPD/bin/libnetshim.so"

# ---- launcher only -----------------------------------------------------------

run in_ns "$NETSHIM" --help
[ "$RC" = 0 ] || fail "--help exited $RC"
for o in tun addr addr6 gateway gateway6 mtu dns search hosts pcap log linger sandbox help \
	version; do
	grep -q -- "--$o\b" "$TMPD/out" || fail "--help does not mention --$o"
done
log "ok: --help lists every option"

run in_ns "$NETSHIM" --version
if [ "$RC" != 0 ] || ! grep -qE '^netshim [0-9][^ ]*$' "$TMPD/out"; then
	fail "--version: status $RC, said \"$(cat "$TMPD/out")\""
fi
log "ok: --version: $(cat "$TMPD/out")"

run in_ns "$NETSHIM" --addr 300.1.2.3/24 -- true
refused "--addr 300.1.2.3/24" 125 "NETSHIM_ADDR="
run in_ns "$NETSHIM" --mtu 1000 true
refused "--mtu 1000 (IPv6 on)" 125 "NETSHIM_MTU="
run in_ns "$NETSHIM" --pcap /nonexistent-netshim/x.pcap true
refused "--pcap in a missing directory" 125 "NETSHIM_PCAP="
run in_ns env NETSHIM_LINGER=soon "$NETSHIM" true
refused "NETSHIM_LINGER=soon in the environment" 125 "NETSHIM_LINGER="
run in_ns "$NETSHIM" --no-such-option true
refused "an unknown option" 125 "unknown option"
run in_ns "$NETSHIM"
refused "no program" 125 "no program"
run in_ns "$NETSHIM" -- netshim-no-such-program
refused "a program not in PATH" 127 "netshim-no-such-program: command not found"
run in_ns "$NETSHIM" -- "$TMPD/no-such-file"
refused "a missing file" 127 "No such file"
printf '#!/bin/sh\nexit 0\n' >"$TMPD/noexec"
chmod 644 "$TMPD/noexec"
run in_ns "$NETSHIM" -- "$TMPD/noexec"
refused "a file without execute permission" 126 "Permission denied"

# Programs the dynamic loader runs without LD_PRELOAD would use the host's
# network: refused (unless --sandbox).
if ldd /sbin/ldconfig 2>&1 | grep -qE 'not a dynamic|statically linked'; then
	run in_ns "$NETSHIM" -- /sbin/ldconfig -p
	refused "a statically linked program" 125 "statically linked"
else
	log "note: /sbin/ldconfig is not static here; static check not run"
fi
if findmnt -no OPTIONS -T "$TMPD" | grep -qw nosuid; then
	log "note: $TMPD is mounted nosuid; set-user-ID check not run"
else
	cp /bin/true "$TMPD/bin/sutrue"
	chmod 4755 "$TMPD/bin/sutrue"
	run in_ns "${NOBODY[@]}" "$TMPD/bin/netshim" -- "$TMPD/bin/sutrue"
	refused "a set-user-ID program run by another user" 125 "set-user-ID"
fi

# What the program receives: the variables (paths made absolute), the
# library first in LD_PRELOAD and what was there kept (ld.so complains
# about the missing object on stderr and goes on).  Runs under the library:
# with the engine, it creates a TUN device in this namespace.
cd "$TMPD" || fail "cd $TMPD"
run in_ns env LD_PRELOAD=/nonexistent-netshim/other.so "$NETSHIM" --linger 0 \
	--addr 198.51.100.2/24 --pcap rel.pcap --log info:rel.log -- /usr/bin/env
[ "$RC" = 0 ] || {
	show
	fail "netshim -- env exited $RC"
}
libreal=$(readlink -f "$LIB")
for want in "LD_PRELOAD=$libreal /nonexistent-netshim/other.so" \
	"NETSHIM_ADDR=198.51.100.2/24" "NETSHIM_PCAP=$TMPD/rel.pcap" \
	"NETSHIM_LOG=info:$TMPD/rel.log" "NETSHIM_LINGER=0"; do
	grep -qxF -- "$want" "$TMPD/out" || {
		grep -E '^(LD_PRELOAD|NETSHIM_)' "$TMPD/out" | sed 's/^/    /'
		fail "the program's environment lacks $want"
	}
done
cd / || fail "cd /"
log "ok: NETSHIM_* (absolute paths) and LD_PRELOAD (prepended) reach the program"

run in_ns "$NETSHIM" --linger 0 sh -c 'exit 7'
[ "$RC" = 7 ] || {
	show
	fail "the program's exit status 7 came back as $RC"
}
log "ok: the program's exit status comes back"

# --sandbox as root: a new network namespace with lo up (and, with the
# engine, the TUN device the library created in it).
outer=$(in_ns readlink /proc/self/ns/net)
run in_ns "$NETSHIM" --sandbox --linger 0 -- sh -c \
	'readlink /proc/self/ns/net; ip -o link show lo; ip -o link show type tun'
[ "$RC" = 0 ] || {
	show
	fail "--sandbox as root exited $RC"
}
inner=$(sed -n 1p "$TMPD/out")
if [ -z "$inner" ] || [ "$inner" = "$outer" ]; then
	fail "--sandbox: the program is still in namespace $outer"
fi
grep -q '^[0-9]*: lo:.*[<,]UP[,>]' "$TMPD/out" || fail "--sandbox: lo is not up: $(cat "$TMPD/out")"
grep -q 'tun' <(sed 1,2d "$TMPD/out") || fail "--sandbox: no TUN device in the sandbox $ENGINE"
log "ok: --sandbox as root: $inner, lo up, a TUN device inside"

# --sandbox as an ordinary user: a user namespace too, where the program is
# uid 0.  Creating the TUN also needs /dev/net/tun open to everyone
# (Debian's 0666); give it that in a private mount namespace, so the check
# does not depend on this machine's node.  If this kernel forbids
# unprivileged user namespaces, the refusal must name the fix.
mkdir "$TMPD/dev"
run in_ns unshare -m --propagation private sh -c '
	mount -t tmpfs tmpfs "$1" && mknod -m 0666 "$1/tun" c 10 200 &&
	mount --bind "$1/tun" /dev/net/tun || exit 99
	shift; exec "$@"' sh "$TMPD/dev" "${NOBODY[@]}" "$TMPD/bin/netshim" --sandbox --linger 0 -- \
	sh -c 'id -u; ip -o link show type tun'
if [ "$RC" = 99 ]; then
	show
	fail "could not give /dev/net/tun mode 0666 in a private mount namespace"
elif [ "$RC" = 125 ] && grep -qiE 'user namespace' "$TMPD/err"; then
	refused "--sandbox as nobody, user namespaces unavailable" 125 "run as root"
else
	if [ "$RC" != 0 ] || [ "$(sed -n 1p "$TMPD/out")" != 0 ]; then
		show
		fail "--sandbox as nobody: status $RC, uid \"$(sed -n 1p "$TMPD/out")\" (wanted 0, 0)"
	fi
	grep -q tun "$TMPD/out" || fail "--sandbox as nobody: no TUN device in the sandbox $ENGINE"
	log "ok: --sandbox as nobody: uid 0 in its own user and network namespace, a TUN inside"
fi
# ... and with the node as it is here: either it works, or one line says
# how to open the node to users.
run in_ns "${NOBODY[@]}" "$TMPD/bin/netshim" --sandbox --linger 0 -- true
if [ "$RC" != 0 ] && ! grep -qiE 'user namespace' "$TMPD/err"; then
	refused "--sandbox as nobody with /dev/net/tun $(stat -c %a /dev/net/tun)" 125 "/dev/net/tun"
fi

# ---- the library's constructor (shim/engine.c) ------------------------------------

run in_ns env NETSHIM_ADDR=300.1.2.3/24 LD_PRELOAD="$LIB" /bin/true
refused "NETSHIM_ADDR=300.1.2.3/24 with LD_PRELOAD alone" 125 "NETSHIM_ADDR=" "$ENGINE"

run in_ns "${NOBODY[@]}" "$TMPD/bin/netshim" --linger 0 -- /bin/true
refused "nobody creating a TUN device" 125 "permission denied" "$ENGINE"

# (echod is stopped before the verdict: lib.sh's cleanup takes its exit
# status for the test's when a check fails while it runs)
echod_start # holds ns0
run in_ns "$NETSHIM" --tun ns0 --linger 0 -- /bin/true
echod_stop || fail "netshim-echod did not exit cleanly"
refused "a device netshim-echod holds" 125 "busy|held by another" "$ENGINE"

pass "launcher options, exit statuses, environment, --sandbox; the library's refusals"
