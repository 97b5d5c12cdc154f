#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Checks of the bash completion for capturectl:
#
#   test-completion.sh syntax COMPLETION
#       the script parses (bash -n)
#   test-completion.sh smoke COMPLETION
#       it completes commands, options, interfaces and capture names, with
#       bash-completion's functions and without them
#   test-completion.sh options COMPLETION CAPTURECTL
#       the options it offers are exactly the long options of
#       `capturectl --help`

set -uo pipefail

check=${1:?usage: $0 syntax|smoke|options COMPLETION [CAPTURECTL]}
completion=${2:?missing the completion script}
failures=0

fail() {
        echo "FAIL: $*" >&2
        failures=$((failures + 1))
}

# Runs in a fresh bash: source the completion (after bash-completion's own
# functions when $1 is "full"), complete at the end of LINE and print
# COMPREPLY one per line. COMP_WORDS is split as bash splits it: "=" is a
# word of its own.
complete_line() {
        local mode=$1 line=$2
        bash --norc --noprofile -c '
                mode=$1 completion=$2 line=$3
                if [[ $mode == full ]]; then
                        source /usr/share/bash-completion/bash_completion || exit 2
                fi
                source "$completion" || exit 2
                COMP_WORDS=()
                for w in $line; do
                        while [[ $w == *=* ]]; do
                                [[ -n ${w%%=*} ]] && COMP_WORDS+=("${w%%=*}")
                                COMP_WORDS+=("=")
                                w=${w#*=}
                        done
                        [[ -n $w ]] && COMP_WORDS+=("$w")
                done
                [[ $line == *" " ]] && COMP_WORDS+=("")
                COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
                COMP_LINE=$line
                COMP_POINT=${#line}
                COMPREPLY=()
                _capturectl
                printf "%s\n" "${COMPREPLY[@]}"
        ' complete-line "$mode" "$completion" "$line"
}

# expect MODE LINE WORD...: the completions of LINE are exactly WORD...
expect() {
        local mode=$1 line=$2 got want
        shift 2
        got=$(complete_line "$mode" "$line" | sed '/^$/d' | sort | tr '\n' ' ')
        want=$(printf '%s\n' "$@" | sed '/^$/d' | sort | tr '\n' ' ')
        if [[ $got != "$want" ]]; then
                fail "[$mode] '$line': got '$got', want '$want'"
        else
                echo "ok: [$mode] '$line' -> $got"
        fi
}

modes() {
        echo plain
        if [[ -f /usr/share/bash-completion/bash_completion ]]; then
                echo full
        else
                echo "note: bash-completion is not installed; checking the plain mode only" >&2
        fi
}

case $check in
syntax)
        if bash -n "$completion"; then
                echo "ok: bash -n $completion"
        else
                fail "bash -n $completion"
        fi
        ;;

smoke)
        tmp=$(mktemp -d)
        trap 'rm -rf "$tmp"' EXIT
        # A stand-in for capturectl that knows two captures.
        cat >"$tmp/capturectl" <<'EOF'
#!/bin/sh
[ "$*" = "--json --no-ask-password list" ] || exit 1
echo '[{"Interface":"eth7","State":"running","Path":"/io/captured/Capture1/capture/eth7"},{"Interface":"wlan0","State":"stopped","Path":"/io/captured/Capture1/capture/wlan0"}]'
EOF
        chmod +x "$tmp/capturectl"
        # One whose daemon cannot be reached.
        printf '#!/bin/sh\necho "capturectl: captured is not running" >&2\nexit 1\n' >"$tmp/nodaemon"
        chmod +x "$tmp/nodaemon"

        for mode in $(modes); do
                expect "$mode" "capturectl st" start status stop
                expect "$mode" "capturectl " start stop restart status list files enable disable watch upload
                expect "$mode" "capturectl --json sta" start status
                expect "$mode" "capturectl start --file-" --file-size= --file-count=
                expect "$mode" "capturectl status --n" --no-ask-password --no-pager
                expect "$mode" "capturectl enable --n" --no-ask-password --no-auto-start --no-pager --now --no-promiscuous
                expect "$mode" "capturectl stop --no-a" --no-ask-password --no-auto-start
                expect "$mode" "capturectl help st" start status stop
                expect "$mode" "capturectl help status " ""
                expect "$mode" "capturectl start --promiscuous=" yes no
                expect "$mode" "capturectl start --filter " ""
                expect "$mode" "capturectl list " ""
                expect "$mode" "$tmp/capturectl stop " eth7 wlan0
                expect "$mode" "$tmp/capturectl --file-size=5 status w" wlan0
                expect "$mode" "$tmp/capturectl files " eth7 wlan0
                expect "$mode" "$tmp/capturectl files eth7 " ""
                expect "$mode" "$tmp/capturectl -H somehost stop " ""
                expect "$mode" "$tmp/nodaemon stop " ""
                if [[ -e /sys/class/net/lo ]]; then
                        got=$(complete_line "$mode" "capturectl start l")
                        if grep -qx lo <<<"$got"; then
                                echo "ok: [$mode] 'capturectl start l' offers lo"
                        else
                                fail "[$mode] 'capturectl start l' does not offer lo: '$got'"
                        fi
                fi
        done
        ;;

options)
        capturectl=${3:?missing capturectl}
        help=$("$capturectl" --help) || { fail "$capturectl --help failed"; exit 1; }
        # "--[no-]promiscuous" stands for --promiscuous and --no-promiscuous.
        want=$(grep -oE -- '--(\[no-\])?[a-z][a-z-]*' <<<"$help" |
               sed -E 's/^--\[no-\](.*)$/--\1\n--no-\1/' | sort -u)
        if (( $(wc -l <<<"$want") < 10 )); then
                fail "could not read the options of capturectl --help"
        fi
        for mode in $(modes); do
                # Before the command every option is offered: global, --now,
                # --target (upload) and the capture options.
                got=$(complete_line "$mode" "capturectl --" | sed 's/=$//' | sort -u)
                if [[ $got == "$want" ]]; then
                        echo "ok: [$mode] the completion offers exactly the $(wc -l <<<"$want") options of capturectl --help"
                else
                        fail "[$mode] options differ from capturectl --help (< help, > completion):"
                        diff <(echo "$want") <(echo "$got") >&2
                fi
        done
        ;;

*)
        echo "unknown check '$check'" >&2
        exit 2
        ;;
esac

(( failures == 0 ))
