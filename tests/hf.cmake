# Hugging Face formats (src/hf/): safetensors reader against the safetensors package (pip
# install safetensors numpy; no skip when absent).
add_executable(st_dump ${CMAKE_CURRENT_SOURCE_DIR}/hf/st_dump.c)
target_link_libraries(st_dump PRIVATE lmc_static)
lmc_add_test(hf_safetensors ARGS python3 ${CMAKE_CURRENT_SOURCE_DIR}/hf/test_safetensors.py
  $<TARGET_FILE:st_dump> ${CMAKE_CURRENT_BINARY_DIR}/hf_safetensors)

# The committed fuzz seeds (fuzz/corpus/safetensors) through the fuzz target, no libFuzzer.
lmc_add_test(hf_fuzz_replay
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_replay.c ${CMAKE_SOURCE_DIR}/fuzz/fuzz_safetensors.c
  ARGS ${CMAKE_SOURCE_DIR}/fuzz/corpus/safetensors)

# lmc convert (src/hf/convert.c): shared llama GGUFs (made by llama.cpp's tools) written out
# as Hugging Face folders (Q/K un-permuted as the inverse of convert_hf_to_gguf.py's permute,
# single and sharded safetensors, tokenizer.json, tokenizer_config.json) and converted back:
# every tensor, hyperparameter, token, merge, BOS id and the chat template equal the original;
# `lmc tokenize` gives the same ids on both files; malformed config.json is a clean error.
# Needs pip gguf, numpy, safetensors.
lmc_add_test(hf_convert ARGS python3 ${CMAKE_CURRENT_SOURCE_DIR}/hf/test_convert.py
  $<TARGET_FILE:lmc> ${LMC_SHARED_DIR} ${CMAKE_CURRENT_BINARY_DIR}/hf_convert TIMEOUT 120)

# The committed fuzz seeds (fuzz/corpus/hf_json: config.json/tokenizer.json/tokenizer_config.json
# split at NUL bytes) through the fuzz target, no libFuzzer.
lmc_add_test(hf_json_fuzz_replay
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_replay.c ${CMAKE_SOURCE_DIR}/fuzz/fuzz_hf_json.c
  ARGS ${CMAKE_SOURCE_DIR}/fuzz/corpus/hf_json)

# Tiny random models made by transformers (tests/hf/make_hf_fixtures.py; the folders and
# their logits are committed): logits from the folder itself (`-m DIR`) and from the
# converted F32 GGUF within 1e-4 of transformers'; tokenizer ids as the tokenizers package.
foreach(arch llama gpt2 qwen2)
  if(NOT TARGET test_hf_logits)
    add_executable(test_hf_logits ${CMAKE_CURRENT_SOURCE_DIR}/hf/test_hf_logits.c)
    target_include_directories(test_hf_logits PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
    target_link_libraries(test_hf_logits PRIVATE lmc_static)
  endif()
  lmc_add_test(hf_logits_${arch} ARGS $<TARGET_FILE:test_hf_logits> ${CMAKE_CURRENT_SOURCE_DIR}/hf/fixtures/${arch}
    ${CMAKE_CURRENT_BINARY_DIR}/hf_logits_${arch})
endforeach()
