# Metrics area (src/metrics/, src/ngram/): BLEU and chrF as sacreBLEU computes them,
# n-gram language models in ARPA files. References we did not write: the WMT23
# organisers' official BLEU scores and sacreBLEU's own test values (data/bleu), the
# sacrebleu and kenlm Python packages (pip install sacrebleu kenlm; the tests fail,
# not skip, without them) and the published PTB perplexity of a KN 5-gram.
set(METRICS_TESTS ${CMAKE_CURRENT_LIST_DIR}/metrics)

lmc_add_test(test_bleu SOURCES ${METRICS_TESTS}/test_bleu.c TIMEOUT 60)
lmc_add_test(bleu_vs_sacrebleu ARGS python3 ${METRICS_TESTS}/bleu_vs_sacrebleu.py TIMEOUT 300)
# Distributions sum to 1 for every smoothing; sampling; malformed ARPA and corpora.
lmc_add_test(test_ngram SOURCES ${METRICS_TESTS}/test_ngram.c TIMEOUT 300)
# The committed ARPA fuzz seeds and regressions (fuzz/corpus/arpa) through the fuzz target
lmc_add_test(ngram_fuzz_replay
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_replay.c ${CMAKE_SOURCE_DIR}/fuzz/fuzz_arpa.c
  ARGS ${CMAKE_SOURCE_DIR}/fuzz/corpus/arpa)
lmc_add_test(ngram_vs_kenlm ARGS python3 ${METRICS_TESTS}/ngram_vs_kenlm.py TIMEOUT 300)
lmc_add_test(cli_metrics ARGS bash ${METRICS_TESTS}/test_cli_metrics.sh TIMEOUT 120)
# Trains the 5-gram on all of PTB: seconds in Release, long under the sanitizers.
lmc_add_test(test_ngram_ptb SOURCES ${METRICS_TESTS}/test_ngram_ptb.c LABELS slow TIMEOUT 600)
