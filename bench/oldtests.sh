#!/bin/sh
# Issue 17's wall-time target, "make test <= 50% of today's with the same
# coverage": the tests that existed at a baseline commit, run on this tree
# with make test's flags, against the baseline's own make test, in turns.
#
#   sh bench/oldtests.sh [BASE] [PAIRS]    # default 06a40ac (issue 17 filed), 3 pairs
#
# A test is matched by name in its old package, else in whichever packages
# define that name now (tests moved with their code: cmd -> internal/cli,
# vault's clients -> adapters/adaptertest). The few renamed ones are mapped
# below. Needs a quiet machine: it times whole runs.
set -eu
base=${1:-06a40ac}
pairs=${2:-3}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'git -C "$here" worktree remove --force "$work/base" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git -C "$here" worktree add --detach "$work/base" "$base" >/dev/null 2>&1
list() { (cd "$1" && for p in $(go list ./...); do go test -list '.*' "$p" 2>/dev/null | grep -E '^(Test|Example|Fuzz)' | sed "s|^|$p |"; done); }
list "$work/base" > "$work/old"
list "$here" > "$work/new"
# Renamed since the baseline: old name -> new name.
cat > "$work/renamed" <<'R'
TestRandomConcurrentClientsMemory TestClientsMemory
TestRandomConcurrentClientsFaults TestClientsFaults
TestRandomConcurrentClientsLocalDir TestClientsLocalDir
TestTokenPath TestTokenFileRoundTrip
TestLeftoverTempFilesRemoved TestNoTempFilesLeft
TestStoreErrorMessage TestExitCodesOfStoreErrors
TestContractSingleAttempt TestContractNoRetry
R
names=$(awk 'NR==FNR { ren[$1]=$2; next } FILENAME ~ /old$/ { n=$2; if (n in ren) n=ren[n]; print n }' "$work/renamed" "$work/old" | sort -u)
missing=""
pkgs=""
for n in $names; do
	ps=$(awk -v n="$n" '$2==n { print $1 }' "$work/new")
	[ -n "$ps" ] || missing="$missing $n"
	pkgs="$pkgs $ps"
done
[ -z "$missing" ] || { echo "not found on this tree:$missing" >&2; exit 1; }
pkgs=$(echo $pkgs | tr ' ' '\n' | sort -u | tr '\n' ' ')
re="^($(echo $names | tr ' ' '|'))\$"
echo "$(echo $names | wc -w) tests of $base in $(echo $pkgs | wc -w) packages"
i=0
while [ $i -lt "$pairs" ]; do
	i=$((i + 1))
	go clean -testcache
	t0=$(date +%s.%N)
	(cd "$here" && go vet ./... && CI=1 go test -race -p 4 -parallel 6 -run "$re" $pkgs) >"$work/new.log" 2>&1 || { cat "$work/new.log"; exit 1; }
	t1=$(date +%s.%N)
	go clean -testcache
	(cd "$work/base" && CI=1 make test) >"$work/base.log" 2>&1 || { cat "$work/base.log"; exit 1; }
	t2=$(date +%s.%N)
	echo "$t0 $t1 $t2" | awk -v i=$i '{ a=$2-$1; b=$3-$2; printf "pair %d: these tests now %.1f s, make test at the baseline %.1f s: %.0f%%\n", i, a, b, 100*a/b }'
done
