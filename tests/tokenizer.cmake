# Tokenizer (src/tokenizer/): SentencePiece and byte-level BPE from GGUF metadata.
set(TOK_TESTS ${CMAKE_CURRENT_LIST_DIR}/tokenizer)

# One test per llama.cpp test-vector pair in ref/tokenizer (ids from Hugging Face
# tokenizers / llama.cpp b10573): 100% of the cases must match. The vocab is the
# vocab-only .gguf next to the vectors, or the model of that name in models/.
add_executable(test_tokenizer_ref ${TOK_TESTS}/test_tokenizer_ref.c)
target_include_directories(test_tokenizer_ref PRIVATE ${CMAKE_SOURCE_DIR}/tests)
target_link_libraries(test_tokenizer_ref PRIVATE lmc_static)
file(GLOB TOK_INPUTS ${LMC_SHARED_DIR}/ref/tokenizer/*.inp)
if(NOT TOK_INPUTS)
  message(WARNING "no tokenizer vectors in ${LMC_SHARED_DIR}/ref/tokenizer: tokenizer_ref tests not registered")
endif()
foreach(inp ${TOK_INPUTS})
  get_filename_component(case ${inp} NAME)
  string(REGEX REPLACE "\\.inp$" "" case ${case})             # X.gguf or X.gguf.extra
  string(REGEX REPLACE "\\.extra$" "" vocab ${case})          # X.gguf
  if(EXISTS ${LMC_SHARED_DIR}/ref/tokenizer/${vocab})
    set(vocab_rel ref/tokenizer/${vocab})
  else()
    file(GLOB_RECURSE found RELATIVE ${LMC_SHARED_DIR} ${LMC_SHARED_DIR}/models/${vocab} ${LMC_SHARED_DIR}/models/*/${vocab})
    if(found)
      list(GET found 0 vocab_rel)
    else()
      set(vocab_rel models/${vocab}) # not there: the test fails and says so
    endif()
  endif()
  lmc_add_test(tokenizer_ref_${case} ARGS $<TARGET_FILE:test_tokenizer_ref>
               ${vocab_rel} ref/tokenizer/${case}.inp ref/tokenizer/${case}.out TIMEOUT 60)
endforeach()

# Round trip of random Unicode on every vocab, streaming detokenizer, special tokens.
lmc_add_test(test_tokenizer_props SOURCES ${TOK_TESTS}/test_tokenizer_props.c TIMEOUT 120)
# Bad vocabs (missing merges, duplicates, unknown pre-tokenizer, ...) and bad input.
lmc_add_test(test_tokenizer_bad SOURCES ${TOK_TESTS}/test_tokenizer_bad.c)
# lmc tokenize / detokenize.
lmc_add_test(cli_tokenize ARGS bash ${TOK_TESTS}/test_tokenize_cli.sh)

# Pre-tokenizer splits against Hugging Face `tokenizers` running the published
# regexes (pip install tokenizers; CI installs it, and the test fails without it).
add_executable(tokenizer_pretok_dump ${TOK_TESTS}/tokenizer_pretok_dump.c)
target_include_directories(tokenizer_pretok_dump PRIVATE ${CMAKE_SOURCE_DIR}/src/tokenizer ${CMAKE_SOURCE_DIR}/src/core)
target_link_libraries(tokenizer_pretok_dump PRIVATE lmc_static)
find_package(Python3 COMPONENTS Interpreter)
if(Python3_FOUND)
  foreach(pre gpt-2 starcoder smollm command-r llama-bpe qwen2)
    lmc_add_test(tokenizer_pretok_${pre} ARGS ${Python3_EXECUTABLE} ${TOK_TESTS}/tokenizer_pretok_ref.py
                 $<TARGET_FILE:tokenizer_pretok_dump> ${pre} ${LMC_SHARED_DIR} TIMEOUT 120)
  endforeach()
endif()

# SentencePiece fast path (chunks + cache) against the plain algorithm on whole texts.
lmc_add_test(test_tokenizer_spm_chunks SOURCES ${TOK_TESTS}/test_tokenizer_spm_chunks.c TIMEOUT 120)
target_include_directories(test_tokenizer_spm_chunks PRIVATE ${CMAKE_SOURCE_DIR}/src/tokenizer)

# Whole byte-level BPE (pre-tokenizer + GPT-2 merges) against a Hugging Face
# `tokenizers` BPE built from the same vocab, for pre-tokenizers without vectors
# (llama-bpe, qwen2, command-r) and two with (sanity). Fails without
# `tokenizers` / `gguf`.
if(Python3_FOUND)
  lmc_add_test(tokenizer_bpe_hf ARGS ${Python3_EXECUTABLE} ${TOK_TESTS}/tokenizer_bpe_hf_ref.py
               $<TARGET_FILE:test_tokenizer_ref> gpt-2,smollm,llama-bpe,qwen2,command-r ${LMC_SHARED_DIR} TIMEOUT 300)
endif()

# Same ids as llama.cpp's llama-tokenize on 300 KB texts (skipped, 77, if it is not built).
lmc_add_test(tokenizer_vs_llama_tokenize ARGS bash ${TOK_TESTS}/test_vs_llama_tokenize.sh TIMEOUT 300 LABELS slow)
set_tests_properties(tokenizer_vs_llama_tokenize PROPERTIES SKIP_RETURN_CODE 77)
# Tokenizer training (src/tokenizer/train_bpe.c) against Hugging Face tokenizers'
# BpeTrainer: identical merges, vocabulary and held-out encodings.
lmc_add_test(tokenizer_train_vs_hf ARGS python3 ${CMAKE_CURRENT_LIST_DIR}/tokenizer/bpe_train_vs_hf.py
             ${LMC_SHARED_DIR}/data/tinyshakespeare/input.txt ${LMC_SHARED_DIR}/data/wikitext2/wiki.test.tokens 1000)
