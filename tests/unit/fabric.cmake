# fabric/: unit tests and the multi-process loopback tests (tests/fabric).
if(TARGET fabraft_fabric)
	fabraft_test(test_fab SOURCES ${CMAKE_SOURCE_DIR}/tests/unit/test_fab.c
		LIBS fabraft_fabric TIMEOUT 60)
	fabraft_test(test_fab_pair
		SOURCES ${CMAKE_SOURCE_DIR}/tests/unit/test_fab_pair.c
		LIBS fabraft_fabric TIMEOUT 60)
	target_include_directories(test_fab_pair
		PRIVATE ${CMAKE_SOURCE_DIR}/tests/fabric) # fab_test.h

	add_executable(fab_mp ${CMAKE_SOURCE_DIR}/tests/fabric/fab_mp.c)
	set_target_properties(fab_mp PROPERTIES
		RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
	target_link_libraries(fab_mp PRIVATE fabraft_fabric)

	# Every provider present here, both paths; verbs skips (exit 77)
	# with a printed reason where no device exists.
	foreach(prov tcp sockets shm verbs)
		foreach(path msg rma)
			set(scenarios deliver reconnect)
			if(path STREQUAL rma)
				list(APPEND scenarios wrap credit reject crash)
			else()
				list(APPEND scenarios auth)
			endif()
			foreach(sc ${scenarios})
				set(t fabric_${prov}_${path}_${sc})
				add_test(NAME ${t}
					COMMAND fab_mp ${prov} ${path} ${sc})
				set_tests_properties(${t} PROPERTIES
					TIMEOUT 60 SKIP_RETURN_CODE 77
					LABELS fabric)
			endforeach()
		endforeach()
	endforeach()
endif()
