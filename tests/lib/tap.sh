# tap.sh: TAP output for shell tests; tests/run.sh reads it.
#   source tests/lib/tap.sh
#   ok "name" command args...     # one point: passes if the command succeeds
#   check "name" <condition-exit-status>   e.g.: check "spread" $(( n > 3 ))... see is/isnt
#   is GOT WANT "name"
#   skip_all "reason"; diag "text"; done_testing
_tap_n=0
_tap_failed=0

diag() { printf '# %s\n' "$*"; }

_tap_result() { # status name
	_tap_n=$((_tap_n + 1))
	if [[ $1 -eq 0 ]]; then
		printf 'ok %d - %s\n' "$_tap_n" "$2"
	else
		printf 'not ok %d - %s\n' "$_tap_n" "$2"
		_tap_failed=$((_tap_failed + 1))
	fi
	return "$1"
}

# ok NAME CMD...: passes when CMD exits 0; CMD's output is shown as diagnostics on failure.
ok() {
	local name=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	_tap_result $rc "$name" || printf '%s\n' "$out" | sed 's/^/#   /' | head -40
	return $rc
}

# is GOT WANT NAME
is() {
	if [[ "$1" == "$2" ]]; then
		_tap_result 0 "$3"
	else
		_tap_result 1 "$3"
		printf '#   got:  %s\n#   want: %s\n' "$1" "$2"
		return 1
	fi
}

# cond EXPR NAME: arithmetic condition, e.g. cond "$n >= 3" "spread"
cond() {
	if (( $1 )); then
		_tap_result 0 "$2"
	else
		_tap_result 1 "$2"
		printf '#   condition false: %s\n' "$1"
		return 1
	fi
}

skip() { _tap_n=$((_tap_n + 1)); printf 'ok %d # SKIP %s\n' "$_tap_n" "$*"; }

skip_all() { printf '1..0 # SKIP %s\n' "$*"; exit 0; }

bail_out() { printf 'Bail out! %s\n' "$*"; exit 1; }

done_testing() {
	printf '1..%d\n' "$_tap_n"
	[[ $_tap_failed -eq 0 ]]
}
