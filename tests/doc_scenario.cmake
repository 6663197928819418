# Run the ```ini example under heading ${HEADING} of docs/scenarios.md with `softiommu run`,
# so that the document's example stays a scenario that runs and meets its expectations.
# TOOL, DOC, HEADING and OUT are given with -D.
file(READ ${DOC} doc)
string(FIND "${doc}" "${HEADING}" at)
if(at LESS 0)
  message(FATAL_ERROR "no '${HEADING}' section in ${DOC}")
endif()
string(SUBSTRING "${doc}" ${at} -1 doc)
string(FIND "${doc}" "```ini\n" open)
if(open LESS 0)
  message(FATAL_ERROR "no ```ini block after '${HEADING}' in ${DOC}")
endif()
math(EXPR open "${open} + 7")
string(SUBSTRING "${doc}" ${open} -1 doc)
string(FIND "${doc}" "```" close)
string(SUBSTRING "${doc}" 0 ${close} example)
file(WRITE ${OUT} "${example}")
execute_process(COMMAND ${TOOL} run --no-progress ${OUT} RESULT_VARIABLE rc
  OUTPUT_VARIABLE out ERROR_VARIABLE out)
message("${out}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the example '${HEADING}' in ${DOC} does not pass (exit status ${rc})")
endif()
