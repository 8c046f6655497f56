#!/bin/bash
# e2e_guard: the client port against hostile and abandoned clients (issue 15):
# under `ulimit -n 128`, 200 idle clients are refused beyond the cap the
# open-file limit leaves, the leader keeps writing new log segments, idle
# ones close after --client-idle-timeout; an HTTP POST with a RESP body
# executes nothing; 50,000 pipelined wrong AUTHs close the connection after
# 3 with a short log; RAFT.MEMBER changes and RAFT.TRANSFER need the admin
# password, ordinary commands do not.
. "$(dirname "$0")/lib.sh"
NODES=3
PY=/usr/bin/python3
[ -x $PY ] || skip "no /usr/bin/python3"
need curl
start_cluster 3
"$BIN/fabraft" cluster stop --dir "$DIR" >/dev/null || fail "stop"
# Fresh logs, so the first segment is small too (it was made at 64 MiB).
rm -rf "$DIR"/data[123]
ADMIN="adm-$$"
for i in 1 2 3; do
	cat >>"$DIR/node$i.conf" <<CONF
wal-segment-bytes = 1048576
client-idle-timeout = 3
admin-pass = $ADMIN
CONF
done
(
	ulimit -n 128 || exit 1
	"$BIN/fabraft" cluster start --nodes 3 --dir "$DIR" >"$DIR/start.out" 2>&1
) || { cat "$DIR/start.out"; fail "cluster start under ulimit -n 128"; }
wait_stable
L=$(wait_leader 5000) || fail "no leader"
LP=$(cport "$L")
grep -E "clients: at most [0-9]+ \(--max-clients 10000; open-file limit 128" \
	"$DIR/node$L.log" || fail "effective max-clients not logged"
CAP=$(sed -n 's/.*clients: at most \([0-9]*\) .*/\1/p' "$DIR/node$L.log" | tail -1)
[ "$CAP" -lt 128 ] || fail "cap $CAP not under the limit"

# 1. 200 idle clients; one writer holds its connection from before.
$PY - "$LP" <<'PY' || fail "client flood (see above)"
import socket, sys, time
port = int(sys.argv[1])
def conn():
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    return s
def cmd(s, *args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else a.encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    s.sendall(out)
    buf = b""
    while not buf.endswith(b"\r\n"):
        b = s.recv(4096)
        if not b:
            raise SystemExit("writer: connection closed")
        buf += b
    return buf
w = conn()
assert cmd(w, "PING") == b"+PONG\r\n"
held, refused = [], 0
for i in range(200):
    try:
        held.append(conn())
    except OSError:
        refused += 1
time.sleep(1.0)
alive = []
for s in held:
    s.setblocking(False)
    try:
        b = s.recv(100)
        if b.startswith(b"-ERR max number of clients reached"):
            refused += 1
        elif b == b"":
            refused += 1
        else:
            alive.append(s)
    except BlockingIOError:
        alive.append(s)
    except OSError:
        refused += 1
print("held %d idle clients, %d refused" % (len(alive), refused))
if refused < 200 - 128 or len(alive) < 10:
    raise SystemExit("expected refusals beyond the cap")
# The log must still roll segments: 4 MiB of writes in 64 KiB values.
v = b"x" * 65536
for i in range(64):
    r = cmd(w, "SET", "big%d" % (i % 8), v)
    if r != b"+OK\r\n":
        raise SystemExit("SET big%d: %r" % (i, r))
print("wrote 4 MiB with every client slot taken")
# Idle ones close after the 3 s timeout (the writer too, once quiet).
deadline = time.time() + 10
for s in alive:
    s.setblocking(True)
    s.settimeout(max(0.1, deadline - time.time()))
    try:
        if s.recv(100) != b"":
            raise SystemExit("idle client got data")
    except socket.timeout:
        raise SystemExit("idle client not closed within 10 s")
    except ConnectionResetError:
        pass
print("every idle client closed by the timeout")
PY
for i in 1 2 3; do
	alive "$(pid_of $i)" || fail "node $i died"
done
grep -qi "too many open files" "$DIR"/node*.log && fail "a node ran out of descriptors"
segs=$(ls "$DIR/data$L"/wal-*.seg | wc -l)
[ "$segs" -ge 4 ] || fail "leader has only $segs log segments"
idle=$(info_field "$L" idle_disconnections)
rej=$(info_field "$L" rejected_connections)
echo "leader: $segs log segments, $rej refused, $idle idle closes"
[ "${idle:-0}" -ge 10 ] || fail "idle_disconnections $idle"
[ "${rej:-0}" -ge 72 ] || fail "rejected_connections $rej"
[ "$(rcli "$LP" get big3 | wc -c)" -gt 65536 ] || fail "big value lost"

# 2. Cross-protocol: what a web page can make a browser send.
curl -s --max-time 3 -H "Content-Type: text/plain" \
	--data-binary $'SET xproto pwned\r\n' "http://127.0.0.1:$LP/" \
	>"$DIR/curl.out" 2>&1
[ ! -s "$DIR/curl.out" ] || fail "the RESP port answered HTTP: $(cat "$DIR/curl.out")"
[ "$(rcli "$LP" exists xproto)" = 0 ] || fail "HTTP body executed"
[ "$(info_field "$L" http_disconnections)" -ge 1 ] || fail "no http_disconnections"
grep -q "sent an HTTP request ('POST')" "$DIR/node$L.log" || fail "HTTP not logged"
echo "HTTP POST: closed, nothing executed"

# 3. AUTH guessing: 50,000 pipelined wrong AUTHs on one connection.
before=$(grep -c "AUTH failed" "$DIR/node$L.log")
$PY - "$LP" <<'PY' || fail "AUTH flood"
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
try:
    s.sendall(b"AUTH guess\r\n" * 50000)
except OSError:
    pass
got = b""
t0 = time.time()
try:
    while time.time() - t0 < 5:
        b = s.recv(65536)
        if not b:
            break
        got += b
except OSError:
    pass
n = got.count(b"-WRONGPASS")
print("AUTH flood: %d WRONGPASS replies, then closed" % n)
if n > 3:
    raise SystemExit("more than 3 attempts answered")
PY
after=$(grep -c "AUTH failed" "$DIR/node$L.log")
[ $((after - before)) -le 4 ] || fail "$((after - before)) AUTH log lines"
[ "$(info_field "$L" auth_disconnections)" = 1 ] || fail "auth_disconnections"
[ "$(info_field "$L" auth_failures)" = 3 ] || fail "auth_failures"

# 4. Admin commands need --admin-pass; ordinary ones do not.
F=$((L % 3 + 1))
for n in "$L" "$F"; do
	out=$(rcli "$(cport $n)" raft.member remove 3 2>&1)
	case "$out" in NOPERM*) ;; *) fail "node $n: remove without admin: $out" ;; esac
	out=$(rcli "$(cport $n)" raft.transfer 2>&1)
	case "$out" in NOPERM*) ;; *) fail "node $n: transfer without admin: $out" ;; esac
done
out=$("$BIN/fabraft" -a "127.0.0.1:$LP" member remove 3 2>&1) &&
	fail "fabraft member remove without the admin password: $out"
case "$out" in *NOPERM*) ;; *) fail "no NOPERM from the CLI: $out" ;; esac
[ "$(rcli "$LP" set plain 1)" = OK ] || fail "ordinary SET refused"
"$BIN/fabraft" -a "127.0.0.1:$LP" member list | grep -q voter || fail "member list"
[ "$("$BIN/fabraft" -a "127.0.0.1:$(cport $F)" set plain 2)" = OK ] || fail "CLI SET"
# With the password: through a follower (it checks, then forwards with the
# admin password, and the leader's check passes too: not NOPERM) ...
out=$(rcli "$(cport $F)" --no-auth-warning -a "$ADMIN" raft.member promote "$L")
case "$out" in *"already a member"*) ;; *) fail "forwarded admin command: $out" ;; esac
# ... by redis-cli -a on the leader, by FABRAFT_ADMIN_PASS with the CLI.
out=$(rcli "$LP" --no-auth-warning -a "$ADMIN" raft.transfer "$F")
[ "$out" = OK ] || fail "transfer with the admin password: $out"
L2=""
for k in $(seq 100); do
	L2=$(leader)
	[ "$L2" = "$F" ] && break
	sleep 0.05
done
[ "$L2" = "$F" ] || fail "leadership did not move to $F"
out=$(FABRAFT_ADMIN_PASS="$ADMIN" "$BIN/fabraft" -a "127.0.0.1:$(cport $F)" transfer "$L")
[ "$out" = OK ] || fail "fabraft transfer with FABRAFT_ADMIN_PASS: $out"
out=$("$BIN/fabraft" --admin-pass "$ADMIN" -a "127.0.0.1:$(cport $L)" member list)
echo "$out" | grep -q voter || fail "member list with --admin-pass"
echo "admin commands: NOPERM without the admin password, OK with it"

# 5. A follower's forwarding connection outlives the idle timeout quietly:
# it closes its side first, so no request races the leader's close.
L=$(wait_leader 5000) || fail "no leader"
F=$((L % 3 + 1))
[ "$(rcli "$(cport $F)" set fwd1 1)" = OK ] || fail "forwarded SET"
sleep 4
[ "$(rcli "$(cport $F)" set fwd2 2)" = OK ] || fail "forwarded SET after idle"
grep -q "forwarding to leader .* failed" "$DIR/node$F.log" &&
	fail "follower $F: forwarding connection failed across the idle timeout"
echo "forwarding across the idle timeout: no failure"
echo "PASS"
