# Fuzz target for the wal's segment, record, meta and snapshot decoders.
# The seed corpus is copied into the build tree: libFuzzer adds the inputs
# it finds to its corpus directory, which must not be the source tree.
file(COPY ${CMAKE_CURRENT_LIST_DIR}/corpus_wal
	DESTINATION ${CMAKE_BINARY_DIR}/fuzz)
fabraft_fuzz(fuzz_wal_decode
	SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_wal_decode.c
	LIBS fabraft_core RUNS 200000
	CORPUS ${CMAKE_BINARY_DIR}/fuzz/corpus_wal)
