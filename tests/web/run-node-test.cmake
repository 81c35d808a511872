# Runs one node test file for ctest (tests/web/CMakeLists.txt), after checking
# that node and tests/web/node_modules are there: a missing piece fails the test
# with a message saying how to install it, never skips it.
#   cmake -DNODE=... -DWEB_DIR=... -DTEST_FILE=... -P run-node-test.cmake
foreach(var NODE WEB_DIR TEST_FILE)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run-node-test.cmake: ${var} is not set")
  endif()
endforeach()

if(NOT NODE OR NOT EXISTS "${NODE}")
  message(FATAL_ERROR
    "gmr web tests: node was not found when CMake configured the build.\n"
    "Install the web tests' dependencies with scripts/web-deps.sh, then reconfigure "
    "(cmake -S . -B build).")
endif()
if(NOT EXISTS "${WEB_DIR}/node_modules/.package-lock.json")
  message(FATAL_ERROR
    "gmr web tests: ${WEB_DIR}/node_modules is missing.\n"
    "Install it with scripts/web-deps.sh (or: cd tests/web && npm ci).")
endif()

execute_process(
  COMMAND "${NODE}" --test --test-reporter=spec "${TEST_FILE}"
  WORKING_DIRECTORY "${WEB_DIR}"
  RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "gmr web tests: node --test ${TEST_FILE} failed (${result})")
endif()
