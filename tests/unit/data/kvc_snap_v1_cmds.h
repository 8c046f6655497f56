/* kvc_snap_v1_cmds.h — the commands behind the version-1 snapshot fixture
 * (kvc_snap_v1.h), applied at times 1000, 1010, 1020, ... */
#ifndef FABRAFT_KVC_SNAP_V1_CMDS_H
#define FABRAFT_KVC_SNAP_V1_CMDS_H
static const char *const v1_cmds[] = {
    "KVC.NODE.ADD 1 10.0.0.1:7000 0 hbm 80000000 dram 512000000",
    "KVC.NODE.ADD 2 10.0.0.2:7000 1 dram 512000000 nvme 4000000000 LEASE "
    "100000",
    "KVC.PUT llama-3-8b a1b2c3d4e5f60718293a4b5c6d7e8f90 - 16 1 hbm 0 2097152 "
    "0f1e2d3c4b5a69788796a5b4c3d2e1f0 a1b2c3d4e5f60718293a4b5c6d7e8f90 16 1 "
    "hbm 2097152 2097152 0f1e2d3c4b5a69788796a5b4c3d2e1f0 "
    "a1b2c3d4e5f60718293a4b5c6d7e8f90 16 2 dram 0 2097152",
    "KVC.PUT qwen2-7b 1111222233334444555566667777AAAA - 8 2 nvme 4096 65536",
    "KVC.PIN llama-3-8b 30000 a1b2c3d4e5f60718293a4b5c6d7e8f90",
    "KVC.ALLOC llama-3-8b 1048576 NEAR 2 LEASE 50000",
    "SET model:active llama-3-8b",
    "KVC.LOOKUP llama-3-8b a1b2c3d4e5f60718293a4b5c6d7e8f90 TOUCH",
};
#endif
