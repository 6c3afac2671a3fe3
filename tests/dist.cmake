# Data-parallel runtime (src/train/dist.c): collectives against arithmetic, alone and
# under mpirun with 2 ranks (oversubscribed: CI machines may have fewer cores).
lmc_add_test(dist_allreduce_single SOURCES ${CMAKE_CURRENT_LIST_DIR}/dist/test_dist_allreduce.c ARGS 1)
if(LMC_HAVE_MPI)
  find_program(LMC_MPIEXEC NAMES mpirun mpiexec)
  if(LMC_MPIEXEC)
    # OpenMPI refuses root unless told; CI containers run as root. Its own
    # allocations look like leaks to LeakSanitizer, so leak checks are off here.
    lmc_add_test(dist_allreduce_mpi2 ARGS ${LMC_MPIEXEC} -np 2 --oversubscribe
                 $<TARGET_FILE:dist_allreduce_single> 2)
    set_property(TEST dist_allreduce_mpi2 APPEND PROPERTY ENVIRONMENT
                 "OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;ASAN_OPTIONS=detect_leaks=0;OMPI_MCA_rmaps_base_oversubscribe=1")
  endif()
endif()
if(LMC_HAVE_MPI AND LMC_MPIEXEC)
  # lmc train on 2 ranks = 1 rank with twice the accumulation; a killed rank stops
  # the job and --resume finishes it.
  lmc_add_test(train_mpi2 ARGS bash ${CMAKE_CURRENT_LIST_DIR}/dist/test_train_mpi.sh ${LMC_MPIEXEC} LABELS slow TIMEOUT 300)
  set_property(TEST train_mpi2 APPEND PROPERTY ENVIRONMENT "ASAN_OPTIONS=detect_leaks=0")
endif()
