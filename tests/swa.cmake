# Sliding-window attention (src/model/swa.c, the window in src/model/layers.c and
# src/engine/): lmc_decode and the engine against a naive band-masked reference.
lmc_add_test(test_swa SOURCES ${CMAKE_CURRENT_LIST_DIR}/swa/test_swa.c)
