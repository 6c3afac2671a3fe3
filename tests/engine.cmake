# Engine area (src/engine/): paged KV cache, prefix cache, continuous batching.
# References: lmc_decode (the single-sequence path, matched to llama.cpp in
# tests/model.cmake) and llama.cpp's greedy tokens in shared/ref/generation/*.json.
# See tests/engine/test_engine.c for what each mode compares.
set(ENGINE_TEST ${CMAKE_CURRENT_LIST_DIR}/engine/test_engine.c)
add_executable(test_engine ${ENGINE_TEST})
target_include_directories(test_engine PRIVATE ${CMAKE_CURRENT_LIST_DIR} ${CMAKE_SOURCE_DIR}/src/core)
target_link_libraries(test_engine PRIVATE lmc_static)

# logits through the engine == lmc_decode within 1e-5 (F32 and F16 KV), greedy tokens ==
# llama.cpp's, score == log-softmax of lmc_decode's logits: llama, qwen2, gpt2, MoE
foreach(c stories260K synth-qwen2-F32 synth-gpt2-F32 synth-moe-F16)
  lmc_add_test(engine_logits_${c} ARGS $<TARGET_FILE:test_engine> logits ${c}.once-upon-a-time f32 ref-tokens
               TIMEOUT 120)
  lmc_add_test(engine_logits_f16_${c} ARGS $<TARGET_FILE:test_engine> logits ${c}.once-upon-a-time f16
               TIMEOUT 120)
endforeach()
lmc_add_test(engine_concurrent ARGS $<TARGET_FILE:test_engine> concurrent stories260K.once-upon-a-time TIMEOUT 120)
lmc_add_test(engine_concurrent_moe ARGS $<TARGET_FILE:test_engine> concurrent synth-moe-F16.once-upon-a-time
             TIMEOUT 120)
lmc_add_test(engine_prefix ARGS $<TARGET_FILE:test_engine> prefix stories260K.once-upon-a-time TIMEOUT 120)
lmc_add_test(engine_cancel ARGS $<TARGET_FILE:test_engine> cancel stories260K.once-upon-a-time TIMEOUT 120)
lmc_add_test(engine_text ARGS $<TARGET_FILE:test_engine> text stories260K.once-upon-a-time TIMEOUT 120)
lmc_add_test(engine_q8 ARGS $<TARGET_FILE:test_engine> q8 stories260K.once-upon-a-time TIMEOUT 120)
# perplexity of shared/ref/ppl/wiki16k.txt scored through lmc_engine_score from 4 threads
# == llama-perplexity's (shared/ref/ppl/expected.tsv, stories260K, c 128, f32 and f16 KV)
lmc_add_test(engine_ppl ARGS $<TARGET_FILE:test_engine> ppl stories260K.once-upon-a-time TIMEOUT 120)
# lmc bench-engine: a tiny run of each section on stories260K (smoke, not timing) and a
# usage error
set(ENGINE_TINY ${LMC_SHARED_DIR}/models/stories260K.gguf)
lmc_add_test(engine_cli_bench ARGS $<TARGET_FILE:lmc> bench-engine -m ${ENGINE_TINY} --throughput --ttft
             -npl 1,4 -npp 8 -ntg 4 --prefix 40 TIMEOUT 60)
set_tests_properties(engine_cli_bench PROPERTIES PASS_REGULAR_EXPRESSION "\\|     8 \\|      4 \\|    4 \\|.*cached")
lmc_add_test(engine_cli_ppl ARGS $<TARGET_FILE:lmc> bench-engine -m ${ENGINE_TINY} --ppl
             ${LMC_SHARED_DIR}/ref/ppl/wiki16k.txt -c 128 --kv-type f32 TIMEOUT 60)
set_tests_properties(engine_cli_ppl PROPERTIES PASS_REGULAR_EXPRESSION "225\\.746")
lmc_add_test(engine_cli_badargs ARGS $<TARGET_FILE:lmc> bench-engine --kv-type q4_0 TIMEOUT 30)
set_tests_properties(engine_cli_badargs PROPERTIES WILL_FAIL TRUE)
# every request failing (a copy of stories260K with a NaN output norm): bench-engine says
# why and exits non-zero in both sections instead of waiting for first tokens forever
lmc_add_test(engine_cli_failed ARGS python3 ${CMAKE_CURRENT_SOURCE_DIR}/engine/test_bench_failed.py
             $<TARGET_FILE:lmc> ${ENGINE_TINY} ${CMAKE_BINARY_DIR}/engine_cli_failed TIMEOUT 150)
# beam search over the engine (beams share blocks copy-on-write) == lmc_beam_search_model
# (the single-sequence cache, src/sampling/beam_model.c), alone and 2 searches at once
lmc_add_test(engine_beam ARGS $<TARGET_FILE:test_engine> beam stories260K.once-upon-a-time TIMEOUT 120)
# F16 KV with llama.cpp's flash-attention numerics (engine flash_attn == context flash_attn)
foreach(c stories260K synth-qwen2-F32)
  lmc_add_test(engine_logits_f16fa_${c} ARGS $<TARGET_FILE:test_engine> logits ${c}.once-upon-a-time f16fa
               TIMEOUT 120)
endforeach()
