# fabraft-bench cluster: fabraftd clusters against etcd and redis-server.
# The suite's other files (one job each) join the fabraft-bench target here;
# the RESP client and the secret writer are the CLI's.  libcurl drives
# etcd's JSON gateway; without it the suite still builds and skips etcd
# with the reason.
find_package(Threads REQUIRED)
find_package(CURL)
target_sources(fabraft-bench PRIVATE
	bench_cluster_cell.c bench_cluster_etcd.c bench_cluster_fab.c
	bench_cluster_hist.c bench_cluster_http.c bench_cluster_net.c
	bench_cluster_opts.c bench_cluster_out.c bench_cluster_plan.c
	bench_cluster_plot.c bench_cluster_proc.c bench_cluster_rb.c
	bench_cluster_redis.c bench_cluster_resp.c bench_cluster_srv.c
	bench_cluster_targets.c bench_cluster_thr.c bench_cluster_work.c
	fabraft_resp.c fabraft_secret.c)
set(FABRAFT_BENCH_LIBS_cluster Threads::Threads)
if(CURL_FOUND)
	target_compile_definitions(fabraft-bench PRIVATE BC_HAVE_CURL)
	list(APPEND FABRAFT_BENCH_LIBS_cluster CURL::libcurl)
else()
	message(STATUS "libcurl not found: fabraft-bench cluster skips etcd")
endif()
