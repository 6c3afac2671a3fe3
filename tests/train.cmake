# Training: compute estimates.
lmc_add_test(cli_flops ARGS bash ${CMAKE_SOURCE_DIR}/tests/cli/test_flops.sh)
