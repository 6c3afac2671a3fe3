# The command-line layer (src/cli/): behaviour shared by several commands.
lmc_add_test(cli_stream_utf8 ARGS python3 ${CMAKE_CURRENT_LIST_DIR}/cli/test_stream_utf8.py)
