# End-to-end tests (tests/e2e/*.sh): real fabraftd processes on loopback,
# driven with fabraft, redis-cli and redis-benchmark.  They skip (exit 77)
# with a printed reason when a tool is missing.  RUN_SERIAL: each starts a
# cluster of its own, and timing-sensitive checks (a new leader within 2 s)
# should not compete with other tests for this machine's cores.
file(GLOB FABRAFT_E2E_SCRIPTS CONFIGURE_DEPENDS
	${CMAKE_SOURCE_DIR}/tests/e2e/e2e_*.sh)
foreach(script ${FABRAFT_E2E_SCRIPTS})
	get_filename_component(name ${script} NAME_WE)
	add_test(NAME ${name} COMMAND bash ${script})
	set_tests_properties(${name} PROPERTIES
		ENVIRONMENT "FABRAFT_BIN=${CMAKE_BINARY_DIR}/bin"
		SKIP_RETURN_CODE 77 TIMEOUT 120 RUN_SERIAL TRUE
		LABELS e2e)
endforeach()

# The basic suite once more over shm with the RMA path on.  (The failover
# and restart suites run over tcp only: libfabric 1.17's shm crashes the
# survivors when a peer restarts under the same name, docs/transport.md.)
add_test(NAME e2e_basic_shm
	COMMAND bash ${CMAKE_SOURCE_DIR}/tests/e2e/e2e_basic.sh)
set_tests_properties(e2e_basic_shm PROPERTIES
	ENVIRONMENT "FABRAFT_BIN=${CMAKE_BINARY_DIR}/bin;FABRAFT_E2E_PROVIDER=shm"
	SKIP_RETURN_CODE 77 TIMEOUT 120 RUN_SERIAL TRUE LABELS e2e)
