#!/bin/bash
# test_polish.sh: what a user meets before the first packet: the man pages
# (man/*.8), the bash completion (scripts/bash-completion/xlbctl), the
# example config (examples/sstp-farm.conf) and `make install`.
#
#   - each man page renders without a groff warning and has the usual sections;
#   - every command of xlbctl's command table (user/xlbctl/main.c) is a tag
#     in man/xlbctl.8 with the table's usage word for word, is offered by the
#     completion, and so are the option words of its usage; likewise the
#     commands and options of `xlbd --help`, `xlb-backend help` and
#     `xlb-backend-setup --help` are in their man pages;
#   - the example config, and the one in docs/config.md, pass `xlbd --check`;
#   - the completion loads, completes verbs, VIPs (asked of a stand-in
#     xlbctl), backends, interfaces and files, and copes with the ':' of VIPs;
#   - `make install DESTDIR=...` puts every file where the docs say, the
#     systemd unit names installed programs, `make uninstall` removes it all.
# Needs no root and no kernel features: runs everywhere.
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
source tests/lib/tap.sh

BUILD=${BUILD:-build}
[[ $BUILD == /* ]] || BUILD=$ROOT/$BUILD
for f in xlbd xlbctl xlb-backend; do
	[[ -x $BUILD/bin/$f ]] || skip_all "$BUILD/bin/$f is not built (make)"
done

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# ---- man pages -------------------------------------------------------------

PAGES=(xlbd xlbctl xlb-backend)
have_groff=1
command -v groff >/dev/null || have_groff=0

# render PAGE: the page as plain text, one line per tag (no wrapping)
render() {
	groff -man -Tascii -rLL=250n -P-cbou "man/$1.8" 2>/dev/null
}

for p in "${PAGES[@]}"; do
	if ((!have_groff)); then
		skip "man/$p.8 renders: groff not found (scripts/install-deps.sh)"
		skip "man/$p.8 has its sections: groff not found"
		continue
	fi
	warn=$(groff -ww -man -z "man/$p.8" 2>&1)
	rc=$?
	if [[ $rc -eq 0 && -z $warn ]]; then
		_tap_result 0 "man/$p.8 renders without warnings (groff -ww)"
	else
		_tap_result 1 "man/$p.8 renders without warnings (groff -ww)"
		printf '%s\n' "$warn" | sed 's/^/#   /' | head -20
	fi
	missing=()
	text=$(render "$p")
	for s in NAME SYNOPSIS DESCRIPTION "EXIT STATUS" FILES EXAMPLES "SEE ALSO"; do
		grep -qx "$s" <<<"$text" || missing+=("$s")
	done
	is "${missing[*]}" "" "man/$p.8 has NAME, SYNOPSIS, DESCRIPTION, EXIT STATUS, FILES, EXAMPLES, SEE ALSO"
done

# ---- the completion, called as readline would --------------------------------

# A stand-in xlbctl on PATH answers the completion's questions without xlbd.
mkdir -p "$scratch/bin"
cat >"$scratch/bin/xlbctl" <<'EOF'
#!/bin/bash
a=("$@")
if [[ ${a[0]-} == -s ]]; then
	echo "${a[1]}" >"${XLBCTL_FAKE_LOG:-/dev/null}"
	a=("${a[@]:2}")
fi
case "${a[*]}" in
"vip list") printf '%s\n' 198.18.0.10:443/tcp 198.18.0.10:80/tcp '[2001:db8::10]:443/tcp' ;;
"--json backend list 198.18.0.10:443/tcp")
	printf '[\n  {\n    "address":"198.18.31.2",\n    "weight":1\n  },\n'
	printf '  {\n    "address": "2001:db8:31::2",\n    "weight":2\n  }\n]\n' ;;
*) echo "xlbctl: cannot reach xlbd" >&2; exit 1 ;;
esac
EOF
chmod +x "$scratch/bin/xlbctl"
export XLBCTL_FAKE_LOG=$scratch/sock.log

# complete LINE: the candidates for the end of LINE, one per line, from a
# fresh bash with only the completion loaded (as in a user's shell).
cat >"$scratch/complete.sh" <<'EOF'
source "$1" || exit 3
fn=$(complete -p xlbctl 2>/dev/null | sed -n 's/.*-F \([^ ]*\) .*/\1/p')
[[ -n $fn ]] || exit 4
line=$2
COMP_LINE=$line
COMP_POINT=${#line}
# bash's own split: blanks, and ':' (in COMP_WORDBREAKS) as a word of its own
read -ra COMP_WORDS <<<"${line//:/ : }"
[[ -z $line || $line == *' ' ]] && COMP_WORDS+=("")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMPREPLY=()
"$fn" xlbctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]-}"
[[ ${#COMPREPLY[@]} -gt 0 ]] && printf '%s\n' "${COMPREPLY[@]}"
exit 0
EOF
COMPLETION=$ROOT/scripts/bash-completion/xlbctl
complete_line() {
	PATH=$scratch/bin:$PATH bash --norc --noprofile "$scratch/complete.sh" "$COMPLETION" "$1"
}

# offers LINE WORD...: every WORD is among the candidates for LINE
offers() {
	local line=$1 got w miss=()
	shift
	got=$(complete_line "$line")
	for w in "$@"; do
		grep -qxF -- "$w" <<<"$got" || miss+=("$w")
	done
	if [[ ${#miss[@]} -gt 0 ]]; then
		echo "'$line<TAB>' offers: $(tr '\n' ' ' <<<"$got")"
		echo "missing: ${miss[*]}"
		return 1
	fi
}

# ---- xlbctl's command table ------------------------------------------------

# "words|usage" for each entry of cmds[] in user/xlbctl/main.c
mapfile -t TABLE < <(sed -n '/^static const struct cmd cmds\[\] = {/,/^};/p' user/xlbctl/main.c |
	sed -n 's/^[[:space:]]*{ "\([a-z][a-z ]*\)", "\([^"]*\)".*/\1|\2/p')
cond "${#TABLE[@]} >= 15" "xlbctl's command table parsed from user/xlbctl/main.c (${#TABLE[@]} commands)"

if ((have_groff)); then
	XLBCTL_MAN=$(render xlbctl)
fi

# sample values for the usage's placeholders
sample() {
	case $1 in
	VIP) echo 198.18.0.10:443/tcp ;;
	ADDRESS | BACKEND) echo 198.18.31.2 ;;
	INTERFACE) echo lo ;;
	*) echo X ;;
	esac
}

# option_points WORDS USAGE: the option words of USAGE (lower case, after
# the positional placeholders) are offered where they belong, and so are the
# values listed as a|b after one.
option_checks() {
	local words=$1 usage=$2 line tok prev= t
	local -a toks alts
	read -ra toks <<<"${usage//[\[\]]/ }"
	line="xlbctl $words"
	for tok in "${toks[@]}"; do
		[[ $tok =~ ^[A-Z]+$ ]] || break
		[[ $tok == FILE || $tok == COMMAND ]] && return 0
		line+=" $(sample "$tok")"
	done
	for tok in "${toks[@]}"; do
		[[ $tok =~ ^[A-Z]+$ ]] && { prev=; continue; }
		if [[ $tok == *'|'* ]]; then
			IFS='|' read -ra alts <<<"$tok"
			offers "$line $prev " "${alts[@]}" || return 1
		else
			offers "$line " "$tok" || return 1
			prev=$tok
		fi
	done
}

for entry in "${TABLE[@]}"; do
	words=${entry%%|*}
	usage=${entry#*|}
	first=${words%% *}
	want="$words${usage:+ $usage}"
	if ((have_groff)); then
		if grep -qxF "       $want" <<<"$XLBCTL_MAN" ||
		   { [[ -z $usage ]] && grep -qE "^       $words( {2,}|$)" <<<"$XLBCTL_MAN"; }; then
			_tap_result 0 "xlbctl $words: in man/xlbctl.8 as '$want'"
		else
			_tap_result 1 "xlbctl $words: in man/xlbctl.8 as '$want'"
			diag "  no line '       $want' in the rendered page"
		fi
	else
		skip "xlbctl $words: in man/xlbctl.8: groff not found"
	fi
	if [[ $words == *' '* ]]; then
		ok "xlbctl $words: offered by the completion" \
			eval 'offers "xlbctl " "$first" && offers "xlbctl $first " "${words#* }" &&
			      offers "xlbctl help $first " "${words#* }"'
	else
		ok "xlbctl $words: offered by the completion" \
			eval 'offers "xlbctl " "$words" && offers "xlbctl help " "$words"'
	fi
	if [[ $usage =~ (^|[^A-Z])[a-z-]{2,} ]]; then
		ok "xlbctl $words: the completion offers the options of '$usage'" \
			option_checks "$words" "$usage"
	fi
done

# ---- the other programs' --help against their pages ------------------------------

if ((have_groff)); then
	# every option of `xlbd --help` in xlbd.8
	text=$(render xlbd)
	miss=()
	for o in $("$BUILD/bin/xlbd" --help | grep -oE '(^|[ ,])--?[a-z][a-z-]*' | tr -d ' ,'); do
		grep -qE -- "(^|[ ,])$o([ ,]|$)" <<<"$text" || miss+=("$o")
	done
	is "${miss[*]}" "" "every option of 'xlbd --help' is in man/xlbd.8"

	# every command of `xlb-backend help` is a tag in xlb-backend.8, with its usage
	text=$(render xlb-backend)
	miss=()
	while read -r cmdline; do
		found=0
		while IFS= read -r l; do
			[[ $l == "       $cmdline" || $l == "       $cmdline  "* ]] && { found=1; break; }
		done <<<"$text"
		((found)) || miss+=("'$cmdline'")
	done < <("$BUILD/bin/xlb-backend" help | awk '/^Commands:/ { f = 1; next } /^$/ { f = 0 }
						    f && /^  [a-z]/ { sub(/^  /, ""); print }')
	is "${miss[*]}" "" "every command of 'xlb-backend help' is in man/xlb-backend.8"
	miss=()
	for o in $("$BUILD/bin/xlb-backend" help | awk '/^Options/ { f = 1; next } /^$/ { f = 0 } f' |
		   grep -oE '(^|[ ,])--?[a-z][a-z-]*' | tr -d ' ,'); do
		grep -qE -- "(^|[ ,])$o([ ,=]|$)" <<<"$text" || miss+=("$o")
	done
	is "${miss[*]}" "" "every option of 'xlb-backend help' is in man/xlb-backend.8"
	miss=()
	for o in $(scripts/xlb-backend-setup --help | grep -oE '^ +--?[a-z][a-z-]*' | tr -d ' '); do
		grep -qE -- "^       $o( |,|$)" <<<"$text" || miss+=("$o")
	done
	is "${miss[*]}" "" "every option of 'xlb-backend-setup --help' is in man/xlb-backend.8"
else
	skip "xlbd --help against man/xlbd.8: groff not found"
	skip "xlb-backend help against man/xlb-backend.8: groff not found"
	skip "xlb-backend options against man/xlb-backend.8: groff not found"
	skip "xlb-backend-setup --help against man/xlb-backend.8: groff not found"
fi

# ---- the example configs ------------------------------------------------------

ok "examples/sstp-farm.conf passes xlbd --check" \
	"$BUILD/bin/xlbd" -c examples/sstp-farm.conf --check
# what the example is there to show
miss=()
ex=$(sed 's/#.*//' examples/sstp-farm.conf)
grep -qE 'service *= *"[0-9.]+:443/tcp"' <<<"$ex" || miss+=("an IPv4 VIP")
grep -qE 'service *= *"\[[0-9a-f:]+\]:443/tcp"' <<<"$ex" || miss+=("an IPv6 VIP")
grep -qE 'type *= *"sstp"' <<<"$ex" || miss+=("sstp probes")
grep -qE 'drain *= *true' <<<"$ex" || miss+=("a draining backend")
grep -qE 'metrics *= *"[^"]+"' <<<"$ex" || miss+=("metrics")
[[ $(grep -cE 'address *= *"' <<<"$ex") -ge 3 ]] || miss+=("three backends")
is "${miss[*]}" "" "examples/sstp-farm.conf has IPv4 and IPv6 VIPs, sstp probes, a drain, metrics"
awk '/^```/ { n++; next } n == 1' docs/config.md >"$scratch/docs-example.conf"
ok "the example in docs/config.md passes xlbd --check" \
	"$BUILD/bin/xlbd" -c "$scratch/docs-example.conf" --check

# ---- the completion's behaviour -------------------------------------------------

ok "the completion loads in bash and registers for xlbctl" \
	bash --norc --noprofile -c 'source "$1" && complete -p xlbctl | grep -q -- "-F _xlbctl xlbctl"' \
	_ "$COMPLETION"
is "$(complete_line 'xlbctl ba')" "backend" "'xlbctl ba<TAB>' completes to backend"
is "$(complete_line 'xlbctl vip sh')" "show" "'xlbctl vip sh<TAB>' completes to show"
is "$(complete_line 'xlbctl backend drain ' | tr '\n' ' ')" \
	"198.18.0.10:443/tcp 198.18.0.10:80/tcp [2001:db8::10]:443/tcp " \
	"VIPs come from 'xlbctl vip list'"
is "$(complete_line 'xlbctl backend drain 198.18.0.10:4')" "443/tcp" \
	"a VIP with ':' completes after the ':' (readline's word)"
is "$(complete_line 'xlbctl vip show [2001:db8::10]:4')" "443/tcp" \
	"an IPv6 VIP completes after its last ':'"
is "$(complete_line 'xlbctl backend del 198.18.0.10:443/tcp ' | tr '\n' ' ')" \
	"198.18.31.2 2001:db8:31::2 " "backends come from 'xlbctl --json backend list VIP'"
rm -f "$XLBCTL_FAKE_LOG"
complete_line 'xlbctl -s /run/other.sock flows 198.18.0.10:443/tcp 19' >/dev/null
is "$(cat "$XLBCTL_FAKE_LOG" 2>/dev/null)" "/run/other.sock" "the completion asks the xlbd of -s SOCKET"
ok "interfaces come from /sys/class/net" offers 'xlbctl attach ' lo
touch "$scratch/farm.conf"
is "$(complete_line "xlbctl syncconf $scratch/fa")" "$scratch/farm.conf" "setconf/syncconf complete file names"
is "$(complete_line 'xlbctl stats --w')" "--watch" "'xlbctl stats --w<TAB>' completes to --watch"
is "$(complete_line 'xlbctl backend add 198.18.0.10:443/tcp 198.18.31.9 weight 2 ' | tr '\n' ' ')" \
	"drain disabled " "an option already given is not offered again"
is "$(complete_line 'xlbctl show --js')" "--json" "--json is offered after the command too"

# ---- make install ----------------------------------------------------------------

# Only installing is tested here: what is built is taken as it is (-o: do
# not remake), so a tree being edited is never rebuilt half-way by a test.
dest=$scratch/dest
keep=()
for f in "$BUILD"/bin/* "$BUILD"/bpf/*.bpf.o "$BUILD"/libxlb.a; do
	[[ -e $f ]] && keep+=(-o "$f")
done
make_q() {
	make --no-print-directory -C "$ROOT" BUILD="$BUILD" "${keep[@]}" "$@" \
		>"$scratch/make.log" 2>&1 ||
		{ sed 's/^/#   /' "$scratch/make.log" | tail -20; return 1; }
}
EXPECTED=(
	sbin/xlbd sbin/xlbctl sbin/xlb-backend sbin/xlb-backend-setup
	lib/xlb/xlb.bpf.o lib/xlb/xlb_decap.bpf.o
	share/man/man8/xlbd.8 share/man/man8/xlbctl.8 share/man/man8/xlb-backend.8
	share/man/man8/xlb-backend-setup.8
	share/bash-completion/completions/xlbctl
	lib/systemd/system/xlbd.service
	share/doc/xlb/README.md share/doc/xlb/docs/config.md share/doc/xlb/docs/protocol.md
	share/doc/xlb/docs/datapath.md share/doc/xlb/examples/sstp-farm.conf
)
if make_q install DESTDIR="$dest"; then
	miss=()
	for f in "${EXPECTED[@]}"; do
		[[ -e $dest/usr/local/$f ]] || miss+=("$f")
	done
	is "${miss[*]}" "" "make install DESTDIR=... puts every file under /usr/local"
	bad=()
	for f in sbin/xlbd sbin/xlbctl sbin/xlb-backend sbin/xlb-backend-setup; do
		[[ $(stat -c %a "$dest/usr/local/$f") == 755 ]] || bad+=("$f")
	done
	for f in share/man/man8/xlbd.8 share/bash-completion/completions/xlbctl lib/xlb/xlb.bpf.o \
		 lib/systemd/system/xlbd.service; do
		[[ $(stat -c %a "$dest/usr/local/$f") == 644 ]] || bad+=("$f")
	done
	is "${bad[*]}" "" "programs are 0755, data files 0644"
	# every path of the unit under the prefix is a file that was installed
	miss=()
	for p in $(grep -oE '(/usr/local/[^ ]*)' "$dest/usr/local/lib/systemd/system/xlbd.service"); do
		[[ -e $dest$p ]] || miss+=("$p")
	done
	is "${miss[*]}" "" "the systemd unit's programs and docs are where install put them"
	ok "the installed xlb-backend-setup.8 opens the xlb-backend page" \
		test "$(readlink "$dest/usr/local/share/man/man8/xlb-backend-setup.8")" = xlb-backend.8
	if make_q uninstall DESTDIR="$dest"; then
		left=$(find "$dest" ! -type d | sed "s|^$dest||")
		is "$left" "" "make uninstall removes every installed file"
	else
		_tap_result 1 "make uninstall removes every installed file"
	fi
else
	_tap_result 1 "make install DESTDIR=... puts every file under /usr/local"
	skip "modes: install failed"
	skip "unit paths: install failed"
	skip "man page link: install failed"
	skip "uninstall: install failed"
fi
dest2=$scratch/dest2
if make_q install DESTDIR="$dest2" PREFIX=/usr SYSTEMD_DIR=/lib/systemd/system; then
	unit=$dest2/lib/systemd/system/xlbd.service
	ok "PREFIX=/usr SYSTEMD_DIR=/lib/systemd/system: unit there, naming /usr/sbin/xlbd" \
		eval '[[ -x $dest2/usr/sbin/xlbd ]] && grep -qx "ExecStart=/usr/sbin/xlbd -c /etc/xlb/xlb.conf -f" "$unit" &&
		      ! grep -q /usr/local "$unit"'
else
	_tap_result 1 "PREFIX=/usr SYSTEMD_DIR=/lib/systemd/system: unit there, naming /usr/sbin/xlbd"
fi

done_testing
