# Waiting helpers for end-to-end scripts. Source this file.

wait_sock() { # sock: up to 10 s
	local i
	for i in $(seq 100); do [ -S "$1" ] && return 0; sleep 0.1; done
	return 1
}

wait_text() { # file text seconds
	local t0=$SECONDS
	until grep -aqF -- "$2" "$1" 2>/dev/null; do
		[ $((SECONDS - t0)) -ge "$3" ] && return 1
		sleep 0.2
	done
}
