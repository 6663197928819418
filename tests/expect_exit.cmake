# Run ${TOOL} with ${ARGS} ('|'-separated); fail unless it exits with ${RC} and its output
# (stdout and stderr) matches ${REGEX}. With ${STDOUT} set, standard output goes to that
# file instead (such as /dev/full) and only standard error is matched.
string(REPLACE "|" ";" args "${ARGS}")
if(DEFINED STDOUT)
  execute_process(COMMAND ${TOOL} ${args} RESULT_VARIABLE rc OUTPUT_FILE ${STDOUT}
    ERROR_VARIABLE out)
else()
  execute_process(COMMAND ${TOOL} ${args} RESULT_VARIABLE rc OUTPUT_VARIABLE out
    ERROR_VARIABLE out)
endif()
message("${out}")
if(NOT rc STREQUAL "${RC}")
  message(FATAL_ERROR "exit status ${rc}, expected ${RC}")
endif()
if(NOT out MATCHES "${REGEX}")
  message(FATAL_ERROR "output does not match: ${REGEX}")
endif()
