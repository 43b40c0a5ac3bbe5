#!/bin/bash
# cli.sh - `cmsite catalog generate` and `cmsite catalog check` end to end:
# the same seed gives the same catalog, the cab and the directory forms
# hold the same updates in the same order, bad options and bad catalogs are
# refused with the documented exit codes.  Needs CMSITE (set by meson).
set -u
fails=0
dir=$(mktemp -d /tmp/cmcatalog-cli.XXXXXX)
trap 'rm -rf "$dir"' EXIT
ok() { echo "ok - $*"; }
bad() { echo "FAIL - $*"; fails=$((fails + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

gen() { "$CMSITE" catalog generate "$@" >"$dir/gen.out" 2>"$dir/gen.err"; }

check "generate a directory" gen --out "$dir/d" --updates 700 --seed 11 --languages de,fr
check "it says what it wrote" grep -q "categories, 700 updates" "$dir/gen.out"
check "generate the same as a wsusscn2 cab" gen --out "$dir/wsusscn2.cab" --updates 700 --seed 11 --languages de,fr
check "generate again, same seed" gen --out "$dir/d2" --updates 700 --seed 11 --languages de,fr
check "the same seed gives the same documents" diff -r -q "$dir/d" "$dir/d2"
check "a cab forced by --format" gen --out "$dir/forced" --format cab --updates 50 --seed 11
check "is a cab" test "$(head -c 4 "$dir/forced")" = MSCF

"$CMSITE" catalog check --list "$dir/d" >"$dir/list-dir" 2>"$dir/err"
check "check reads the directory" test $? -eq 0
"$CMSITE" catalog check --list "$dir/wsusscn2.cab" >"$dir/list-cab" 2>"$dir/err"
check "check reads the cab" test $? -eq 0
check "both forms list the same updates in the same order" \
    diff <(grep -v ': ' "$dir/list-dir") <(grep -v ': ' "$dir/list-cab")
check "categories come first" bash -c "head -n 1 '$dir/list-cab' | grep -q 'Category/Company'"
check "the real classifications are there" grep -q '^0fa1201d-4330-4fa8-8ae9-b877473b6441 100 Category/UpdateClassification Security Updates$' "$dir/list-cab"
check "and Windows Server 2012" grep -q '^a105a108-7c9b-4518-bbbe-73f0fe30012b 100 Category/Product Windows Server 2012$' "$dir/list-cab"
check "the cab carries file locations" grep -q ' [1-9][0-9]* file locations' "$dir/list-cab"
n=$(grep -c -v ': ' "$dir/list-cab")
check "726 entries (26 categories and 700 updates)" test "$n" -eq 726

"$CMSITE" catalog generate --out "$dir/d" --updates 5 >/dev/null 2>&1
check "a non-empty directory is not overwritten (exit 1)" test $? -eq 1
"$CMSITE" catalog generate --out "$dir/x" --updates 200001 >/dev/null 2>&1
check "too many updates is a usage error (exit 2)" test $? -eq 2
"$CMSITE" catalog generate --out "$dir/x" --languages 'de,../x' >/dev/null 2>&1
check "a bad language is a usage error (exit 2)" test $? -eq 2
"$CMSITE" catalog generate --updates 5 >/dev/null 2>&1
check "--out is required (exit 2)" test $? -eq 2
"$CMSITE" catalog frobnicate >/dev/null 2>&1
check "an unknown subcommand (exit 2)" test $? -eq 2

head -c 5000 "$dir/wsusscn2.cab" >"$dir/cut.cab"
"$CMSITE" catalog check "$dir/cut.cab" >/dev/null 2>"$dir/err"
check "a truncated cab is refused (exit 1)" test $? -eq 1
check "with a reason" grep -q 'cannot read\|refused at' "$dir/err"
mkdir "$dir/broken" && cp "$dir/d"/00000[0-3]*.xml "$dir/broken/" && echo '<nope' >"$dir/broken/9999999-x.xml"
"$CMSITE" catalog check "$dir/broken" >/dev/null 2>"$dir/err"
check "a broken document is refused (exit 1)" test $? -eq 1
check "naming the file" grep -q 'refused at 9999999-x.xml' "$dir/err"

if [ "$fails" -ne 0 ]; then echo "$fails failure(s)"; exit 1; fi
echo "all passed"
