# Pretraining runs (src/train/data_shards.c, run.c; lmc data prepare, lmc train):
# end to end, SIGKILL + resume with identical losses, full disk, bad input.
lmc_add_test(pretrain_end_to_end ARGS bash ${CMAKE_CURRENT_LIST_DIR}/pretrain/test_pretrain.sh TIMEOUT 300)
