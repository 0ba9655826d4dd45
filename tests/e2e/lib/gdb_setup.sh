# What the GDB stub's scripts share (test_gdb.sh, test_gdb_smp.sh): result
# lines under $GROUP/, the checks that gdb, $POPEK and the guest program
# $PROG are there (SKIP or FAIL, and exit, when not), free_port and
# popek_gdb. Source it after lib/scratch.sh with GROUP, POPEK and PROG set.
pass() { echo "PASS $GROUP/$1"; }
fail() { echo "FAIL $GROUP/$1: $2"; }
check() { # name got want
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "got '$2', wanted '$3'"; fi
}

if ! command -v gdb >/dev/null; then
	echo "SKIP $GROUP/all: no gdb (apt-get install gdb)"
	exit 0
fi
if [ ! -x "$POPEK" ] || [ ! -f "$PROG" ]; then
	fail setup "no $POPEK or $PROG (run make test)"
	exit 1
fi

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# popek_gdb NAME ARGS...: popek with --gdb on a free port (PORT), pid in
# VM; false (with a FAIL line) when its stub does not come up.
popek_gdb() {
	local n=$1
	shift
	PORT=$(free_port)
	POPEK_LOG=info "$POPEK" run --gdb "tcp:$PORT" "$@" >"$TMP/$n.out" 2>"$TMP/$n.err" &
	VM=$!
	PIDS+=("$VM")
	wait_for "$TMP/$n.err" "gdb: waiting for a debugger" 20 && return 0
	fail "$n" "no stub: $(tail -2 "$TMP/$n.err" | tr '\n' '|')"
	return 1
}
