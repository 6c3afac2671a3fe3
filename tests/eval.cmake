# Eval area (src/eval/): perplexity, task specs, multiple choice, exact match.
# References we did not write: llama.cpp b10573's llama-perplexity numbers
# (ref/ppl/expected.tsv, every row within 0.1 %) and its stored logits
# (ref/generation/*.f32), against which tasks defined only by spec files are checked.
set(EVAL_TESTS ${CMAKE_CURRENT_LIST_DIR}/eval)

# f32-attn rows: KV cache F32, the same numerics as llama.cpp -fa off -ctk f32 -ctv f32.
lmc_add_test(ppl_vs_llamacpp_f32 ARGS python3 ${EVAL_TESTS}/ppl_vs_llamacpp.py f32-attn TIMEOUT 300)
# default rows: llama.cpp's defaults (flash attention on, F16 KV) = lmc -fa on --kv-type f16.
lmc_add_test(ppl_vs_llamacpp_default ARGS python3 ${EVAL_TESTS}/ppl_vs_llamacpp.py default TIMEOUT 300 LABELS slow)
# New tasks (multiple choice, loglikelihood, generate, BLEU) from spec files alone.
lmc_add_test(eval_vs_llamacpp_logits ARGS python3 ${EVAL_TESTS}/eval_vs_llamacpp_logits.py TIMEOUT 120)
# Bad specs and mismatched data: errors name file, line and field; answer extraction.
lmc_add_test(test_eval_specs SOURCES ${EVAL_TESTS}/test_eval_specs.c TIMEOUT 120)
# The committed task-spec fuzz seeds and regressions (fuzz/corpus/task) through the fuzz target
lmc_add_test(eval_fuzz_replay
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_replay.c ${CMAKE_SOURCE_DIR}/fuzz/fuzz_task.c
  ARGS ${CMAKE_SOURCE_DIR}/fuzz/corpus/task)
