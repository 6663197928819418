# Run a document's example with the softiommu command, so that the example stays one that
# works: the first fenced block opened by the line FENCE (```, ```ini, ...) after the heading
# HEADING of DOC is written to OUT and run as `TOOL ARGS... OUT`, which must exit with 0.
# TOOL, DOC, HEADING, FENCE, ARGS ('|'-separated) and OUT are given with -D.
file(READ ${DOC} doc)
string(FIND "${doc}" "${HEADING}" at)
if(at LESS 0)
  message(FATAL_ERROR "no '${HEADING}' section in ${DOC}")
endif()
string(SUBSTRING "${doc}" ${at} -1 doc)
string(FIND "${doc}" "${FENCE}\n" open)
if(open LESS 0)
  message(FATAL_ERROR "no ${FENCE} block after '${HEADING}' in ${DOC}")
endif()
string(LENGTH "${FENCE}\n" skip)
math(EXPR open "${open} + ${skip}")
string(SUBSTRING "${doc}" ${open} -1 doc)
string(FIND "${doc}" "```" close)
string(SUBSTRING "${doc}" 0 ${close} example)
file(WRITE ${OUT} "${example}")
string(REPLACE "|" ";" args "${ARGS}")
execute_process(COMMAND ${TOOL} ${args} ${OUT} RESULT_VARIABLE rc OUTPUT_VARIABLE out
  ERROR_VARIABLE out)
message("${out}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the example '${HEADING}' in ${DOC} does not pass (exit status ${rc})")
endif()
