# GGUF reader and writer (src/gguf/), lmc info's error paths, and the fuzz corpus replay.

# Round trip through lmc's writer and reader; a whole-model copy must be byte-identical.
lmc_add_test(gguf_roundtrip SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_gguf_roundtrip.c)

# Every kind of bad input, through the library and through `lmc info`; CLI usage errors.
lmc_add_test(gguf_bad_input SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_gguf_bad.c)

# Against the gguf Python package's GGUFReader (pip install gguf numpy; no skip if absent):
# every shared model read by lmc, files written by lmc, and `lmc info --json`.
add_executable(gguf_tool ${CMAKE_CURRENT_SOURCE_DIR}/gguf/gguf_tool.c)
target_link_libraries(gguf_tool PRIVATE lmc_static)
foreach(part models written info)
  lmc_add_test(gguf_compat_${part} ARGS python3 ${CMAKE_CURRENT_SOURCE_DIR}/gguf/test_gguf_compat.py
    $<TARGET_FILE:gguf_tool> $<TARGET_FILE:lmc> ${LMC_SHARED_DIR}
    ${CMAKE_CURRENT_BINARY_DIR}/gguf_compat_${part} ${part})
endforeach()
lmc_add_test(gguf_compat_models_vocab LABELS slow TIMEOUT 900
  ARGS python3 ${CMAKE_CURRENT_SOURCE_DIR}/gguf/test_gguf_compat.py
  $<TARGET_FILE:gguf_tool> $<TARGET_FILE:lmc> ${LMC_SHARED_DIR}
  ${CMAKE_CURRENT_BINARY_DIR}/gguf_compat_models_vocab models-vocab)

# The committed fuzz corpus (fuzz/corpus/gguf: seeds and every crash found) replayed
# through the fuzz target without libFuzzer; under LMC_SANITIZE this is the ASan replay.
lmc_add_test(gguf_fuzz_replay
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_replay.c ${CMAKE_SOURCE_DIR}/fuzz/fuzz_gguf.c
  ARGS ${CMAKE_SOURCE_DIR}/fuzz/corpus/gguf)
