# A script's scratch space: TMP, a fresh directory, and PIDS, the
# background processes it started; both gone when the script exits (the
# processes killed first). Also wait_for, for lines those processes write.
# Source it after `cd` to the repository.
TMP=$(mktemp -d)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

# wait_for FILE TEXT SECONDS: true once FILE holds TEXT (a grep pattern),
# false after SECONDS.
wait_for() { # file text seconds
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
