# Pretraining runs (src/train/data_shards.c, run.c; lmc data prepare, lmc train):
# end to end, SIGKILL + resume with identical losses, full disk, bad input.
lmc_add_test(pretrain_end_to_end ARGS bash ${CMAKE_CURRENT_LIST_DIR}/pretrain/test_pretrain.sh TIMEOUT 300)
# Black-box checks against what we did not write: shards read with numpy, the vocab with
# gguf-py, the exported model's names/shapes as llama.cpp's, llama-simple when present.
# Shard files written byte by byte from the format, good and bad (lmc_shard_read).
lmc_add_test(test_shards SOURCES ${CMAKE_CURRENT_LIST_DIR}/pretrain/test_shards.c)
foreach(t prepare resume fulldisk nan bad export config)
  lmc_add_test(pretrain_${t} ARGS python3 ${CMAKE_CURRENT_LIST_DIR}/pretrain/test_pretrain.py ${t} TIMEOUT 120)
endforeach()

