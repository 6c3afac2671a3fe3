# Sampling (src/sampling/): sampler chain, RNG, stop conditions, beam search.
set(SAMPLING_TESTS ${CMAKE_CURRENT_LIST_DIR}/sampling)
lmc_add_test(test_sampling_rng SOURCES ${SAMPLING_TESTS}/test_sampling_rng.c)
lmc_add_test(test_sampling_filters SOURCES ${SAMPLING_TESTS}/test_sampling_filters.c)
lmc_add_test(test_sampling_stop SOURCES ${SAMPLING_TESTS}/test_sampling_stop.c)
lmc_add_test(test_sampling_beam SOURCES ${SAMPLING_TESTS}/test_sampling_beam.c)

# lmc's chain vs a numpy re-implementation of the published definitions, and a
# chi-square test of its draws (needs python3 + numpy).
add_executable(sampling_tool ${SAMPLING_TESTS}/sampling_tool.c)
target_link_libraries(sampling_tool PRIVATE lmc_static)
find_package(Python3 COMPONENTS Interpreter)
if(Python3_FOUND)
  lmc_add_test(test_sampling_ref ARGS ${Python3_EXECUTABLE} ${SAMPLING_TESTS}/check_sampling_ref.py
               $<TARGET_FILE:sampling_tool> TIMEOUT 120)
endif()
lmc_add_test(test_sampling_beam_model SOURCES ${SAMPLING_TESTS}/test_sampling_beam_model.c)
if(Python3_FOUND)
  # `lmc run` options end to end (stories260K vs llama.cpp's greedy reference)
  lmc_add_test(test_sampling_cli ARGS ${Python3_EXECUTABLE} ${SAMPLING_TESTS}/check_sampling_cli.py TIMEOUT 120)
endif()
