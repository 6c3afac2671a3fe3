# Sliding-window attention (src/model/swa.c, the window in src/model/layers.c and
# src/engine/): lmc_decode and the engine against a naive band-masked reference.
lmc_add_test(test_swa SOURCES ${CMAKE_CURRENT_LIST_DIR}/swa/test_swa.c)

# F16 weights summed in the reference machine's llama.cpp order (ggml_vec_dot_f16 for
# one token and every expert, tinyBLAS for a dense batch; src/tensor/kernels_avx2.c):
# these two cases then match llama.cpp's logits bit for bit in the rows it covers, which
# the general F16 bounds in model.cmake would not notice losing. SIMD builds only (the
# scalar kernels sum in double).
if(NOT LMC_SCALAR_ONLY)
  lmc_add_test(moe_f16_order_stories260K-Q8_0-ffndownF16 ARGS $<TARGET_FILE:test_model_ref>
               stories260K-Q8_0-ffndownF16.once-upon-a-time --max-diff 1e-4 --p99 1e-5 --margin 5e-2)
  lmc_add_test(moe_f16_order_synth-moe-F16 ARGS $<TARGET_FILE:test_model_ref>
               synth-moe-F16.once-upon-a-time --max-diff 0.01 --p99 2e-3 --margin 5e-2)
endif()
