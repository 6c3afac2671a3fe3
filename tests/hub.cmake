# Model cache and downloads (lmc pull).
lmc_add_test(cli_pull ARGS bash ${CMAKE_SOURCE_DIR}/tests/cli/test_pull.sh)
