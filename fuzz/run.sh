#!/bin/sh
# Runs every libFuzzer target of build-fuzz/ for a bounded time, one after the other
# (make fuzz). docs/fuzzing.md says more.
#
#   fuzz/run.sh [TARGET...]      default: every fuzz/fuzz_*.c
#   FUZZ_SECONDS   seconds per target (default 60)
#   FUZZ_BUILD     the fuzz build directory (default build-fuzz)
#   FUZZ_ARGS      extra libFuzzer options
#
# Each target starts from its committed seeds (fuzz/corpus/NAME, read only) and the
# inputs earlier runs found (FUZZ_BUILD/corpus/NAME, where new ones go). A crash, leak,
# timeout or broken invariant leaves its input in FUZZ_BUILD/artifacts/NAME/ and makes the
# script fail. The last line counts targets: "fuzz: N passed, M failed".
set -u
cd "$(dirname "$0")/.."
SECONDS_PER=${FUZZ_SECONDS:-60}
BUILD=${FUZZ_BUILD:-build-fuzz}
ARGS=${FUZZ_ARGS:-}

if [ $# -eq 0 ]; then
	set -- $(for f in fuzz/fuzz_*.c; do basename "$f" .c | sed 's/^fuzz_//'; done)
fi
passed=0
failed=0
for name in "$@"; do
	exe="$BUILD/fuzz/fuzz_$name"
	if [ ! -x "$exe" ]; then
		echo "fuzz: $exe is not built" >&2
		failed=$((failed + 1))
		continue
	fi
	work="$BUILD/corpus/$name"
	art="$BUILD/artifacts/$name"
	log="$BUILD/logs/$name.log"
	mkdir -p "$work" "$art" "$BUILD/logs"
	dict=""
	[ -f "fuzz/dict/$name.dict" ] && dict="-dict=fuzz/dict/$name.dict"
	seeds=""
	[ -d "fuzz/corpus/$name" ] && seeds="fuzz/corpus/$name"
	echo "== fuzz $name: $SECONDS_PER s"
	# -timeout: an input that runs 10 s is a hang; -rss_limit_mb: a leak or a blow-up.
	# shellcheck disable=SC2086
	if "$exe" -max_total_time="$SECONDS_PER" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$art/" $dict $ARGS "$work" $seeds \
		>"$log" 2>&1; then
		passed=$((passed + 1))
		grep -E '^#[0-9]+.*(DONE|pulse)|stat::number_of_executed_units|stat::peak_rss' "$log" |
			tail -3
	else
		failed=$((failed + 1))
		echo "fuzz $name FAILED (log $log, inputs in $art/):"
		grep -E -A30 'ERROR|invariant broken|deadly signal|Test unit written' "$log" | head -60
	fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
