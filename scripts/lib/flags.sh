#!/usr/bin/env bash
# Command building shared by scripts/ and benchmarks/: each command carries every flag once, with the value it runs
# with (a later setting replaces an earlier one instead of being appended after it).
#   set_flags ARRAY WORD...   set each flag of WORDS in the array named ARRAY: a flag already there keeps its place
#                             and takes WORDS' values, a new one is appended. A flag is a word that starts with '-'
#                             and is not a number; its values are the words up to the next flag (none: a switch).
#   set_flag_words ARRAY "STRING"   the same with the words of STRING (e.g. "$FLAGS", a row of methods.sh)
#   show_cmd WORD...          print a command on one line, quoted for the shell
#   run_cmd WORD...           run a command, or print it when DRY_RUN is set

is_flag() { [[ $1 == -* && ! $1 =~ ^-[0-9.] ]]; }

set_flags() {
    local -n set_flags_cmd=$1
    shift
    local words=("$@") i=0 j k end found
    while [ "$i" -lt "${#words[@]}" ]; do
        if ! is_flag "${words[i]}"; then
            echo "set_flags: '${words[i]}' is not a flag (in: ${words[*]})" >&2
            return 2
        fi
        j=$((i + 1))
        while [ "$j" -lt "${#words[@]}" ] && ! is_flag "${words[j]}"; do j=$((j + 1)); done
        found=""
        for k in "${!set_flags_cmd[@]}"; do
            if [ "${set_flags_cmd[k]}" = "${words[i]}" ]; then found=$k; break; fi
        done
        if [ -z "$found" ]; then
            set_flags_cmd+=("${words[@]:i:j-i}")
        else
            end=$((found + 1))
            while [ "$end" -lt "${#set_flags_cmd[@]}" ] && ! is_flag "${set_flags_cmd[end]}"; do end=$((end + 1)); done
            set_flags_cmd=("${set_flags_cmd[@]:0:found}" "${words[@]:i:j-i}" "${set_flags_cmd[@]:end}")
        fi
        i=$j
    done
}

set_flag_words() {
    local words=()
    read -r -d '' -a words <<<"$2" || true
    set_flags "$1" "${words[@]}"
}

show_cmd() {
    local line
    line=$(printf '%q ' "$@")
    echo "${line% }"
}

run_cmd() {
    if [ -n "${DRY_RUN:-}" ]; then show_cmd "$@"; else "$@"; fi
}
