# Run `softiommu ${ARGS}` writing a Graphviz graph to ${OUT}, render it with
# `dot -Tsvg` and check that Graphviz accepted it (exit status 0, an <svg> document) and
# that the graph holds ${REGEX}.
string(REPLACE "|" ";" args "${ARGS}")
execute_process(COMMAND ${TOOL} ${args} RESULT_VARIABLE rc OUTPUT_VARIABLE out
  ERROR_VARIABLE err)
message("${err}")
if(NOT rc STREQUAL "0")
  message(FATAL_ERROR "softiommu exited with ${rc}")
endif()
file(READ ${OUT} graph)
if(NOT graph MATCHES "${REGEX}")
  message(FATAL_ERROR "the graph does not match ${REGEX}")
endif()
execute_process(COMMAND ${DOT} -Tsvg ${OUT} -o ${OUT}.svg RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc STREQUAL "0" OR NOT err STREQUAL "")
  message(FATAL_ERROR "dot -Tsvg failed (${rc}): ${err}")
endif()
file(READ ${OUT}.svg svg)
if(NOT svg MATCHES "<svg")
  message(FATAL_ERROR "dot wrote no SVG")
endif()
