# The command-line layer (src/cli/): behaviour shared by several commands.
lmc_add_test(cli_stream_utf8 ARGS python3 ${CMAKE_CURRENT_LIST_DIR}/cli/test_stream_utf8.py)
# without -t: one thread per CPU core the process may use (its affinity), read from
# bench-engine's header under taskset -c 0 and -c 0,1
lmc_add_test(cli_default_threads ARGS bash ${CMAKE_CURRENT_LIST_DIR}/cli/test_default_threads.sh TIMEOUT 60)
set_tests_properties(cli_default_threads PROPERTIES SKIP_RETURN_CODE 77)
