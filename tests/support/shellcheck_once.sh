#!/usr/bin/env bash
# Runs shellcheck for actionlint (`actionlint -shellcheck=THIS`) once per distinct question in one lint run.
#
# actionlint starts shellcheck for every `run:` step of every file it is given: over the template matrix
# that is about 2,000 processes for about 90 distinct scripts. shellcheck's answer depends only on its
# arguments, its folder and the script on stdin, so a repeated question gets the first answer again
# (stdout, stderr and exit status), byte for byte; actionlint still attributes it to each step that asked.
# The answers live in SHELLCHECK_ONCE_DIR, a fresh folder that tests/support/lint.py makes for one lint
# run and removes after it: nothing is kept between runs. SHELLCHECK_ONCE_REAL is the real shellcheck.
# This script forks one process (sha256sum) for a repeat; shellcheck costs about three times as much.
set -u
memo=${SHELLCHECK_ONCE_DIR:?}
IFS= read -r -d '' script || true
key=$(sha256sum <<<"$PWD"$'\n'"$*"$'\n'"$script")
key=$memo/${key%% *}
if [[ ! -e $key.rc ]]; then
    # two steps asking the same at the same time both run shellcheck; the answers are the same
    printf '%s' "$script" | "${SHELLCHECK_ONCE_REAL:?}" "$@" >"$key.out.$$" 2>"$key.err.$$"
    echo "$?" >"$key.rc.$$"
    mv -f "$key.out.$$" "$key.out"
    mv -f "$key.err.$$" "$key.err"
    mv -f "$key.rc.$$" "$key.rc"  # last: an answer is complete once its status is there
fi
out='' err=''
IFS= read -r -d '' out <"$key.out" || true
IFS= read -r -d '' err <"$key.err" || true
read -r rc <"$key.rc"
printf '%s' "$out"
printf '%s' "$err" >&2
exit "$rc"
