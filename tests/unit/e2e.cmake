# End-to-end tests (tests/e2e/*.sh): real fabraftd processes on loopback,
# driven with fabraft, redis-cli and redis-benchmark.  They skip (exit 77)
# with a printed reason when a tool is missing.  RUN_SERIAL: each starts a
# cluster of its own, and timing-sensitive checks (a new leader within 2 s)
# should not compete with other tests for this machine's cores.
# The linearizability checker and history recorder (WGL, Porcupine-style),
# with its own test on histories that must pass and must fail.
add_executable(lincheck ${CMAKE_SOURCE_DIR}/tests/e2e/lincheck.c
	${CMAKE_SOURCE_DIR}/tools/fabraft_resp.c)
target_include_directories(lincheck PRIVATE ${CMAKE_SOURCE_DIR}/tools)
target_link_libraries(lincheck PRIVATE Threads::Threads)
set_target_properties(lincheck PROPERTIES
	RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
add_test(NAME lincheck_selftest COMMAND lincheck selftest)

file(GLOB FABRAFT_E2E_SCRIPTS CONFIGURE_DEPENDS
	${CMAKE_SOURCE_DIR}/tests/e2e/e2e_*.sh)
foreach(script ${FABRAFT_E2E_SCRIPTS})
	get_filename_component(name ${script} NAME_WE)
	add_test(NAME ${name} COMMAND bash ${script})
	set_tests_properties(${name} PROPERTIES
		ENVIRONMENT "FABRAFT_BIN=${CMAKE_BINARY_DIR}/bin;LINCHECK=${CMAKE_BINARY_DIR}/tests/lincheck"
		SKIP_RETURN_CODE 77 TIMEOUT 120 RUN_SERIAL TRUE
		LABELS e2e)
endforeach()

# The basic suite once more over shm with the RMA path on (shm 1.17 hands
# back remote-write completions with a foreign op_context: fab.c checks
# contexts, see op_lookup()).
add_test(NAME e2e_basic_shm
	COMMAND bash ${CMAKE_SOURCE_DIR}/tests/e2e/e2e_basic.sh)
set_tests_properties(e2e_basic_shm PROPERTIES
	ENVIRONMENT "FABRAFT_BIN=${CMAKE_BINARY_DIR}/bin;FABRAFT_E2E_PROVIDER=shm"
	SKIP_RETURN_CODE 77 TIMEOUT 120 RUN_SERIAL TRUE LABELS e2e)
# SIGKILL of the leader under write load over shm (survivors used to crash
# on the same foreign contexts).
add_test(NAME e2e_failover_shm
	COMMAND bash ${CMAKE_SOURCE_DIR}/tests/e2e/e2e_failover.sh)
set_tests_properties(e2e_failover_shm PROPERTIES
	ENVIRONMENT "FABRAFT_BIN=${CMAKE_BINARY_DIR}/bin;LINCHECK=${CMAKE_BINARY_DIR}/tests/lincheck;FABRAFT_E2E_PROVIDER=shm"
	SKIP_RETURN_CODE 77 TIMEOUT 120 RUN_SERIAL TRUE LABELS e2e)
# The linearizability check once more with each other way of reading:
# the leader lease and reads through the log (the default is ReadIndex).
foreach(mode lease log)
	add_test(NAME e2e_lincheck_${mode}
		COMMAND bash ${CMAKE_SOURCE_DIR}/tests/e2e/e2e_lincheck.sh)
	set_tests_properties(e2e_lincheck_${mode} PROPERTIES
		ENVIRONMENT "FABRAFT_BIN=${CMAKE_BINARY_DIR}/bin;LINCHECK=${CMAKE_BINARY_DIR}/tests/lincheck;FABRAFT_E2E_READ_MODE=${mode}"
		SKIP_RETURN_CODE 77 TIMEOUT 180 RUN_SERIAL TRUE LABELS e2e)
endforeach()
