# check_bench.cmake — smoke test of `lmc bench -m` (not a timing test).
#   cmake -DLMC=<lmc> -DMODEL=<gguf> -DMODE=json|badargs -P check_bench.cmake
# json:    runs `lmc bench -m MODEL -p 16 -n 8 -t 1,2 -r 2 --json --bw 10` and checks the
#          JSON: fields present, one pp16 and one tg8 entry per thread count, 2 samples
#          each whose mean and sd are avg_ts/stddev_ts, every number positive and finite,
#          weight_gbs = weight_bytes_per_token x avg_ts / 1e9, bw_fraction = weight_gbs/10,
#          model size <= file size, peak RSS >= model size.
# badargs: each bad invocation exits with status 2 (usage) or 1 (a missing model file),
#          and prints nothing on stdout.
cmake_minimum_required(VERSION 3.19)

function(fail msg)
  message(FATAL_ERROR "bench test: ${msg}")
endfunction()

# A JSON number: positive and finite (no nan/inf, which JSON cannot hold anyway).
function(check_pos name val)
  if(NOT val MATCHES "^[0-9]+(\\.[0-9]*)?([eE][-+]?[0-9]+)?$")
    fail("${name} = '${val}' is not a finite non-negative number")
  endif()
  if(val EQUAL 0 OR val MATCHES "^0(\\.0*)?([eE].*)?$")
    fail("${name} = '${val}' is not positive")
  endif()
endfunction()

if(MODE STREQUAL "json")
  execute_process(COMMAND ${LMC} bench -m ${MODEL} -p 16 -n 8 -t 1,2 -r 2 --json --bw 10
                  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    fail("exit status ${rc}: ${err}")
  endif()
  string(JSON model ERROR_VARIABLE e GET "${out}" model)
  if(e)
    fail("output is not the expected JSON (${e}):\n${out}")
  endif()
  if(NOT model STREQUAL MODEL)
    fail("model '${model}' != '${MODEL}'")
  endif()
  foreach(k model_size model_n_params file_size weight_bytes_per_token kv_cache_bytes peak_rss_bytes)
    string(JSON ${k} GET "${out}" ${k})
    check_pos(${k} "${${k}}")
  endforeach()
  foreach(k model_type kv_type kernels)
    string(JSON v GET "${out}" ${k})
    if(v STREQUAL "")
      fail("${k} is empty")
    endif()
  endforeach()
  if(model_size GREATER file_size)
    fail("model_size ${model_size} > file_size ${file_size}")
  endif()
  if(peak_rss_bytes LESS model_size)
    fail("peak_rss_bytes ${peak_rss_bytes} < model_size ${model_size}: RSS not measured")
  endif()
  string(JSON n LENGTH "${out}" results)
  if(NOT n EQUAL 4)
    fail("expected 4 results (pp16, tg8 at 1 and 2 threads), got ${n}")
  endif()
  set(seen "")
  math(EXPR last "${n} - 1")
  foreach(i RANGE ${last})
    string(JSON r GET "${out}" results ${i})
    string(JSON test GET "${r}" test)
    string(JSON th GET "${r}" n_threads)
    string(JSON reps GET "${r}" reps)
    string(JSON avg GET "${r}" avg_ts)
    string(JSON sd GET "${r}" stddev_ts)
    string(JSON ns LENGTH "${r}" samples_ts)
    list(APPEND seen "${test}/t${th}")
    check_pos("${test} avg_ts" "${avg}")
    if(NOT reps EQUAL 2 OR NOT ns EQUAL 2)
      fail("${test}: reps ${reps}, ${ns} samples (expected 2)")
    endif()
    string(JSON s0 GET "${r}" samples_ts 0)
    string(JSON s1 GET "${r}" samples_ts 1)
    check_pos("${test} sample" "${s0}")
    check_pos("${test} sample" "${s1}")
    if(NOT sd MATCHES "^[0-9]+(\\.[0-9]*)?([eE][-+]?[0-9]+)?$")
      fail("${test}: stddev_ts '${sd}' not a finite non-negative number")
    endif()
    if(test STREQUAL "tg8")
      string(JSON g GET "${r}" weight_gbs)
      string(JSON f GET "${r}" bw_fraction)
      string(JSON b GET "${r}" bw_gbs)
      check_pos("weight_gbs" "${g}")
      check_pos("bw_fraction" "${f}")
      if(NOT b EQUAL 10)
        fail("bw_gbs ${b} != --bw 10")
      endif()
    endif()
  endforeach()
  foreach(want pp16/t1 tg8/t1 pp16/t2 tg8/t2)
    if(NOT want IN_LIST seen)
      fail("missing result ${want} (have ${seen})")
    endif()
  endforeach()
  message(STATUS "bench json ok: ${seen}")
elseif(MODE STREQUAL "badargs")
  # One case per entry, arguments separated by '|' (a CMake list cannot nest).
  set(cases
    "-m|${MODEL}|-p|-1"
    "-m|${MODEL}|-t|0"
    "-m|${MODEL}|-t|1,x"
    "-m|${MODEL}|-r|0"
    "-m|${MODEL}|--kv-type|q8_0"
    "-m|${MODEL}|-p|0|-n|0"
    "-m|${MODEL}|--kernels"
    "-m"
    "--json"
    "--bogus")
  foreach(case IN LISTS cases)
    string(REPLACE "|" ";" c "${case}")
    execute_process(COMMAND ${LMC} bench ${c} OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
    if(NOT rc EQUAL 2)
      fail("'lmc bench ${case}' exited ${rc}, expected 2 (usage error); stderr: ${err}")
    endif()
    if(NOT out STREQUAL "")
      fail("'lmc bench ${case}' printed on stdout: ${out}")
    endif()
  endforeach()
  execute_process(COMMAND ${LMC} bench -m /nonexistent/model.gguf -p 4 -n 2 -r 1
                  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
  if(NOT rc EQUAL 1 OR NOT out STREQUAL "" OR err STREQUAL "")
    fail("missing model: exit ${rc} (expected 1), stdout '${out}', stderr '${err}'")
  endif()
  message(STATUS "bench bad arguments ok")
else()
  fail("MODE must be json or badargs")
endif()
