#!/usr/bin/env bash
# Runs shellcheck for actionlint (`actionlint -shellcheck=THIS`) once per distinct question in one lint run.
#
# actionlint starts shellcheck for every `run:` step of every file it is given: over the template matrix
# that is about 2,000 processes for about 90 distinct scripts. shellcheck's answer depends only on its
# arguments, its folder and the script on stdin (the question), so a repeated question gets the first
# answer again (stdout, stderr and exit status), byte for byte; actionlint still reports it for each
# step that asked. The answers live in SHELLCHECK_ONCE_DIR, a fresh folder that tests/support/lint.py
# makes for one lint run and removes after it: nothing is kept between runs. SHELLCHECK_ONCE_REAL is the
# real shellcheck.
#
# A repeat starts no process (a hash program would cost as much as this whole script): the answers are
# filed by the question's length, in slots LENGTH.0, LENGTH.1, ..., each with the whole question, which
# must be equal to be answered. A slot is taken with an exclusive create (noclobber) and its question
# appears last, once the answer is complete; two steps asking the same at once may both run shellcheck.
set -u
memo=${SHELLCHECK_ONCE_DIR:?}
script='' stored='' out='' err='' rc=''
IFS= read -r -d '' script || true
question=$PWD$'\n'$*$'\n'$script
slot=$memo/${#question}.
i=0
while :; do
    if [[ -e $slot$i.q ]]; then
        IFS= read -r -d '' stored <"$slot$i.q" || true
        [[ $stored == "$question" ]] && break
    else
        set -C
        if { : >"$slot$i.taken"; } 2>/dev/null; then
            set +C
            printf '%s' "$script" | "${SHELLCHECK_ONCE_REAL:?}" "$@" >"$slot$i.out" 2>"$slot$i.err"
            echo "$?" >"$slot$i.rc"
            printf '%s' "$question" >"$slot$i.q.$$"
            mv -f "$slot$i.q.$$" "$slot$i.q"
            break
        fi
        set +C
    fi
    i=$((i + 1))
done
IFS= read -r -d '' out <"$slot$i.out" || true
IFS= read -r -d '' err <"$slot$i.err" || true
read -r rc <"$slot$i.rc"
printf '%s' "$out"
printf '%s' "$err" >&2
exit "$rc"
