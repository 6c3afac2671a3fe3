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
