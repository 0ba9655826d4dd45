# Helpers for end-to-end scripts that drive popek's API with curl and read
# its log. Source this file; the caller sets S (the API socket) and TMP.

# api METHOD PATH [BODY]: one request; sets CODE and BODY.
api() {
	local m=$1 p=$2
	shift 2
	rm -f "$TMP/body" # a failed request must not leave the last answer as its own
	CODE=$(curl -s -m 20 --unix-socket "$S" -X "$m" -o "$TMP/body" -w '%{http_code}' \
		-H 'Content-Type: application/json' ${1+--data-binary "$1"} "http://localhost$p")
	BODY=$(cat "$TMP/body" 2>/dev/null)
}

# log_clean NAME FILE: PASS NAME/log unless popek's output in FILE has an
# error or a sanitizer report (then FAIL with its first lines).
log_clean() {
	if grep -aq 'ERROR\|AddressSanitizer\|runtime error' "$2"; then
		echo "FAIL $1/log: popek logged errors:"
		grep -a 'ERROR\|AddressSanitizer\|runtime error' "$2" | head -5 | sed 's/^/    | /'
	else
		echo "PASS $1/log"
	fi
}
