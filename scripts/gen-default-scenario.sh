#!/bin/sh
# Regenerate tools/default_scenario.c from examples/scenarios/default.scn (the built-in
# scenario of `softiommu run`). tests/tools/test_scenario_reader.c fails when they differ.
set -eu
cd "$(dirname "$0")/.."
src=examples/scenarios/default.scn
out=tools/default_scenario.c
{
	echo '// SPDX-License-Identifier: MIT'
	echo "/* Generated from $src"
	echo ' * by scripts/gen-default-scenario.sh: edit that file, then run the script.'
	echo ' * The tests check that the two are identical. */'
	echo '#include "scenario.h"'
	echo
	echo 'const char scenario_default_file[] = "default.scn";'
	echo
	echo '// clang-format off'
	echo 'const char scenario_default_text[] ='
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/\t"/' -e 's/$/\\n"/' "$src"
	printf '\t"";\n'
	echo '// clang-format on'
} >"$out"
