# Bench area (`lmc bench -m`, src/cli/cmd_bench.c): a smoke test of the model benchmark
# on stories260K (JSON shape, positive finite numbers; not a timing test) and its
# usage errors. Speed comparisons against llama.cpp live in bench/compare.sh.
set(BENCH_CHECK ${CMAKE_CURRENT_LIST_DIR}/bench/check_bench.cmake)
set(BENCH_MODEL ${LMC_SHARED_DIR}/models/stories260K.gguf)
lmc_add_test(bench_model_json ARGS ${CMAKE_COMMAND} -DLMC=$<TARGET_FILE:lmc> -DMODEL=${BENCH_MODEL}
             -DMODE=json -P ${BENCH_CHECK} TIMEOUT 120)
lmc_add_test(bench_model_badargs ARGS ${CMAKE_COMMAND} -DLMC=$<TARGET_FILE:lmc> -DMODEL=${BENCH_MODEL}
             -DMODE=badargs -P ${BENCH_CHECK} TIMEOUT 60)
