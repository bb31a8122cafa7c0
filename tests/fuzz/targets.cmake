# SPDX-License-Identifier: GPL-3.0-or-later
# The fuzz targets, one nimbus_fuzz_target() call each. Both builds read this
# list: the main build (tests/fuzz/CMakeLists.txt) adds each target's test,
# the clang build (tests/fuzz/clang/CMakeLists.txt) compiles each target. A
# target's seed corpus is tests/fuzz/corpus/<NAME>/.
#
#   nimbus_fuzz_target(NAME
#     SOURCES   its files, from the repository's root; one of them defines
#               LLVMFuzzerTestOneInput
#     INCLUDES  folders it includes from, from the root (private to it)
#     LIBRARIES the project's libraries it links (the clang build has them)
#     SECONDS   how long its test runs libFuzzer
#     [DICT     a libFuzzer dictionary, in tests/fuzz/])
nimbus_fuzz_target(json_request
  SOURCES tests/fuzz/fuzz_json_request.c tests/json_api/json/json_oracle.c
  INCLUDES tests/json_api/json
  LIBRARIES nimbus_json
  SECONDS 20
  DICT json_request.dict)
nimbus_fuzz_target(soap
  SOURCES tests/fuzz/fuzz_soap.c tests/fuzz/fuzz_tmpdir.c
  INCLUDES soap tests/fuzz
  LIBRARIES nimbus_soap
  SECONDS 20
  DICT soap.dict)
nimbus_fuzz_target(http_input
  SOURCES tests/fuzz/fuzz_http_input.c
  INCLUDES json_api/rest
  LIBRARIES nimbus_rest nimbus_http nimbus_json
  SECONDS 15
  DICT http_input.dict)
nimbus_fuzz_target(datetime
  SOURCES tests/fuzz/fuzz_datetime.c
  LIBRARIES nimbus_service
  SECONDS 15
  DICT datetime.dict)
nimbus_fuzz_target(ws_frame
  SOURCES tests/fuzz/fuzz_ws_frame.c tests/fuzz/fuzz_tmpdir.c
  INCLUDES json_api/stream tests/fuzz
  LIBRARIES nimbus_stream nimbus_json
  SECONDS 15
  DICT ws_frame.dict)
