# Kernels area: dequantize/quantize vs the gguf Python package, SIMD vs scalar
# references, matmul vs a float64 product, thread pool, quantize error bounds.
find_package(Python3 COMPONENTS Interpreter)

add_executable(kernels_tool ${CMAKE_CURRENT_SOURCE_DIR}/kernels/kernels_tool.c)
target_link_libraries(kernels_tool PRIVATE lmc_static)

if(Python3_FOUND)
  lmc_add_test(test_kernels_gguf
    ARGS ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/kernels/test_kernels_gguf.py
         $<TARGET_FILE:kernels_tool> ${LMC_SHARED_DIR}/models)
endif()

lmc_add_test(test_kernels_matmul SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/kernels/test_kernels_matmul.c)
# the pool's waits with late workers and more threads than CPUs
lmc_add_test(test_threadpool SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/kernels/test_threadpool.c LIBS Threads::Threads)
lmc_add_test(test_kernels_simd SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/kernels/test_kernels_simd.c)
lmc_add_test(test_kernels_quantize SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/kernels/test_kernels_quantize.c)
# Q8_0 / Q4_1 repacked 8 rows at a time (AVX-512 VNNI, and AVX2 below): exact against the chain they promise
lmc_add_test(test_repack SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/kernels/test_repack.c)
# the AVX2 family's repacked Q4_1 on an AVX-512 machine (on an AVX2 one, the same as above)
lmc_add_test(test_repack_avx2 ARGS $<TARGET_FILE:test_repack>)
set_property(TEST test_repack_avx2 APPEND PROPERTY ENVIRONMENT "LMC_KERNELS=avx2")
