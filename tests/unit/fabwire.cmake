# Unit tests of fabric/'s pure parts: wire format, handshake, RMA ring
# logic, and hwloc placement.
if(TARGET fabraft_fabric)
	foreach(t fab_wire fab_ring fab_hello fab_topo)
		if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/test_${t}.c)
			fabraft_test(test_${t}
				SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_${t}.c
				LIBS fabraft_fabric TIMEOUT 120)
		endif()
	endforeach()
endif()
