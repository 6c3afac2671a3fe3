# `lmc serve` (src/server/): started on a free loopback port and driven with the official
# `openai` Python client (pip install openai), raw HTTP and sockets. Each skips (77) when a
# package or model is missing.
foreach(t openai errors concurrent)
  lmc_add_test(server_${t} ARGS python3 ${CMAKE_CURRENT_LIST_DIR}/server/test_${t}.py TIMEOUT 120)
  set_tests_properties(server_${t} PROPERTIES SKIP_RETURN_CODE 77)
endforeach()
# Needs ~/.cache/lmc/models/SmolLM2-135M-Instruct.Q4_1.gguf (its chat template).
lmc_add_test(server_chat_smol ARGS python3 ${CMAKE_CURRENT_LIST_DIR}/server/test_chat_smol.py TIMEOUT 300)
set_tests_properties(server_chat_smol PROPERTIES SKIP_RETURN_CODE 77 LABELS slow)

# The committed request-parsing fuzz corpus (fuzz/corpus/server) through the fuzz target
# without libFuzzer; under LMC_SANITIZE this is the ASan/UBSan replay.
lmc_add_test(server_fuzz_replay
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_replay.c ${CMAKE_SOURCE_DIR}/fuzz/fuzz_server.c
  ARGS ${CMAKE_SOURCE_DIR}/fuzz/corpus/server)

# Clients leaving early (queued requests of gone clients cancelled) and 20 s of
# bench/serve_churn.py on SmolLM2 (no crash, no leaked blocks or fds, exit 0).
lmc_add_test(server_churn ARGS python3 ${CMAKE_CURRENT_LIST_DIR}/server/test_churn.py TIMEOUT 600)
set_tests_properties(server_churn PROPERTIES SKIP_RETURN_CODE 77 LABELS slow)
