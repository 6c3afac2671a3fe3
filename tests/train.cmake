# Training: compute estimates.
lmc_add_test(cli_flops ARGS bash ${CMAKE_SOURCE_DIR}/tests/cli/test_flops.sh)
# Every layer's backward against central finite differences, in double, on the same
# source the float training path runs (src/train/train_ops.inc).
add_executable(test_train_grad ${CMAKE_CURRENT_LIST_DIR}/train/test_train_grad.c)
target_include_directories(test_train_grad PRIVATE ${CMAKE_SOURCE_DIR}/tests ${CMAKE_SOURCE_DIR}/src/core ${CMAKE_SOURCE_DIR}/src/train)
target_link_libraries(test_train_grad PRIVATE lmc_static)
foreach(layer linear rmsnorm layernorm rope attention attention_dropout dropout model_dropout swiglu gelu embedding xent)
  lmc_add_test(train_grad_${layer} ARGS $<TARGET_FILE:test_train_grad> ${layer})
endforeach()
# The training GEMM (lmc's AVX-512 kernel, or cblas_sgemm) against a double product.
lmc_add_test(train_sgemm SOURCES ${CMAKE_CURRENT_LIST_DIR}/train/test_sgemm.c)
target_include_directories(train_sgemm PRIVATE ${CMAKE_SOURCE_DIR}/src/train)
# The whole model against PyTorch 1.13 (fixtures from tests/train/make_fixture.py):
# logits, loss, every gradient, and the losses of 10 AdamW steps; llama and gpt2.
foreach(arch llama gpt2)
  lmc_add_test(train_vs_torch_${arch} SOURCES ${CMAKE_CURRENT_LIST_DIR}/train/test_train_vs_torch.c
               ARGS ${CMAKE_CURRENT_LIST_DIR}/train/fixtures/${arch}.bin)
  # the same fixture with the batch split over two threads (summed slice gradients)
  lmc_add_test(train_vs_torch_${arch}_t2 ARGS $<TARGET_FILE:train_vs_torch_${arch}>
               ${CMAKE_CURRENT_LIST_DIR}/train/fixtures/${arch}.bin 2)
endforeach()
# Training from GGUF: the training forward equals the inference forward; refusals.
lmc_add_test(train_from_gguf SOURCES ${CMAKE_CURRENT_LIST_DIR}/train/test_train_from_gguf.c)
