# Chat templates (src/chat/): the Jinja interpreter against Python's jinja2.

# ref/chat: 13 model templates x 6 conversations x add_generation_prompt, rendered by
# jinja2 3.1.6 the way transformers' apply_chat_template calls it. One test per template;
# ok rows byte for byte, error rows must fail.
foreach(tmpl chatml Qwen-Qwen2.5-7B-Instruct Qwen-Qwen3-0.6B meta-llama-Llama-3.1-8B-Instruct
        meta-llama-Llama-3.2-3B-Instruct mistralai-Mistral-Nemo-Instruct-2407 microsoft-Phi-3.5-mini-instruct
        google-gemma-2-2b-it HuggingFaceTB-SmolLM3-3B deepseek-ai-DeepSeek-R1-Distill-Qwen-32B
        ibm-granite-granite-3.3-2B-Instruct NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use GigaChat3-10B-A1.8B)
  if(NOT TARGET chat_ref)
    add_executable(chat_ref ${CMAKE_CURRENT_SOURCE_DIR}/chat/chat_ref.c)
    target_include_directories(chat_ref PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
    target_link_libraries(chat_ref PRIVATE lmc_static)
  endif()
  lmc_add_test(chat_ref_${tmpl} ARGS $<TARGET_FILE:chat_ref> ${tmpl})
endforeach()

# Differential test against Python's jinja2 (pip install jinja2) on random templates
# covering whitespace control, statements, filters, tests, methods and operators.
add_executable(chat_batch ${CMAKE_CURRENT_SOURCE_DIR}/chat/chat_batch.c)
target_link_libraries(chat_batch PRIVATE lmc_static)
lmc_add_test(chat_jinja_diff ARGS python3 ${CMAKE_CURRENT_SOURCE_DIR}/chat/jinja_diff.py
  $<TARGET_FILE:chat_batch> 2000 1234 TIMEOUT 900)

# The committed fuzz seeds and regressions (fuzz/corpus/jinja) through the fuzz target
# without libFuzzer; under LMC_SANITIZE this is the ASan/UBSan replay.
lmc_add_test(chat_fuzz_replay
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_replay.c ${CMAKE_SOURCE_DIR}/fuzz/fuzz_jinja.c
  ARGS ${CMAKE_SOURCE_DIR}/fuzz/corpus/jinja)

# Bad templates and inputs: errors with line/column, bounded recursion, loops and output.
lmc_add_test(chat_bad SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/chat/chat_bad.c)

# Template from a GGUF file (default and named, bos/eos from the vocab) and `lmc template`
# end to end against the jinja2 reference rendering.
lmc_add_test(chat_gguf_cli SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/chat/chat_gguf_cli.c)
