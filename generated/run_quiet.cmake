# SPDX-License-Identifier: GPL-3.0-or-later
# Build step (cmake -P): runs one code generator (wsdl2h, soapcpp2) with its
# stdout and stderr sent to a log file, so a build shows none of their
# licence banners and warnings. On success it prints nothing; if the tool
# fails (or cannot start), it prints the log and fails the build step.
# Usage: cmake -DLOG=<log file> "-DCMD=<tool>;<arg>;..." -P run_quiet.cmake
# (the command comes as a list, not after `--`: CMake 3.25 still takes a
# -L there as its own option and drops it).
if(NOT LOG OR NOT CMD)
  message(FATAL_ERROR "run_quiet.cmake: -DLOG=<log file> and -DCMD=<tool;args> are required")
endif()

list(JOIN CMD " " cmd_text)
file(WRITE "${LOG}" "${cmd_text}\n\n")
execute_process(COMMAND ${CMD} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
file(APPEND "${LOG}" "${out}")
if(NOT rc STREQUAL "0")
  file(APPEND "${LOG}" "\nresult: ${rc}\n")
  file(READ "${LOG}" log)
  # NOTICE goes to stderr unindented, so the log reads as the tool wrote it.
  message(NOTICE "${log}")
  list(GET CMD 0 tool)
  get_filename_component(tool "${tool}" NAME)
  message(FATAL_ERROR "${tool} failed (result: ${rc}); its output is above and in ${LOG}")
endif()
