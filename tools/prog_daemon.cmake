# fabraftd (the daemon) and fabraft (the CLI).
# The runtime (core/node*.c, inside fabraft_core) binds the transport, the
# state machine and the RESP front.
target_link_libraries(fabraft_core PUBLIC fabraft_fabric fabraft_kvcache
	fabraft_resp)
add_executable(fabraftd fabraftd.c)
target_link_libraries(fabraftd PRIVATE fabraft_core fabraft_fabric
	fabraft_kvcache fabraft_resp)
add_executable(fabraft fabraft.c fabraft_resp.c fabraft_cluster.c
	fabraft_demo.c fabraft_secret.c)
target_link_libraries(fabraft PRIVATE fabraft_fabric)
