/* Data-parallel runtime. With MPI (LMC_HAVE_MPI, set by the LMC_MPI build option)
 * and a launcher (mpirun, srun), ranks join MPI_COMM_WORLD; otherwise this is rank 0
 * of 1 and nothing is sent anywhere. MPI is only initialised when a launcher started
 * us, so `lmc train` without mpirun behaves exactly as a build without MPI. */
#include "lmc-impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef LMC_HAVE_MPI
#include <mpi.h>
#endif

struct lmc_dist {
    int rank, size;
    bool mpi;          /* we called MPI_Init and must finalize */
    double comm_s;     /* seconds inside collectives          */
    uint64_t comm_bytes;
    char name[160];
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

bool lmc_dist_compiled(void)
{
#ifdef LMC_HAVE_MPI
    return true;
#else
    return false;
#endif
}

#ifdef LMC_HAVE_MPI
/* Set by OpenMPI, MPICH/Hydra, PMIx and Slurm launchers respectively. */
static bool launched_by_mpi(void)
{
    static const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK", "SLURM_NTASKS"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
        if (getenv(vars[i])) return true;
    return false;
}

static int mpi_fail(int rc, const char *what)
{
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, msg, &len) != MPI_SUCCESS) snprintf(msg, sizeof msg, "MPI error %d", rc);
    return lmc_set_error(LMC_ERR_IO, "%s failed: %s (a peer rank probably died; the job cannot continue — "
                         "restart it with --resume from the last checkpoint)", what, msg);
}
#endif

lmc_dist *lmc_dist_init(int *argc, char ***argv)
{
    lmc_dist *d = calloc(1, sizeof *d);
    if (!d) {
        lmc_set_error(LMC_ERR_NOMEM, "out of memory");
        return NULL;
    }
    d->size = 1;
    snprintf(d->name, sizeof d->name, "single process");
#ifdef LMC_HAVE_MPI
    if (launched_by_mpi()) {
        int provided = 0, rc;
        rc = MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
        if (rc != MPI_SUCCESS) {
            mpi_fail(rc, "MPI_Init_thread");
            free(d);
            return NULL;
        }
        d->mpi = true;
        /* Errors come back to us (and become a clear message) instead of aborting. */
        MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
        MPI_Comm_rank(MPI_COMM_WORLD, &d->rank);
        MPI_Comm_size(MPI_COMM_WORLD, &d->size);
        char ver[MPI_MAX_LIBRARY_VERSION_STRING];
        int len = 0;
        MPI_Get_library_version(ver, &len);
        ver[strcspn(ver, ",\n")] = 0;
        snprintf(d->name, sizeof d->name, "MPI (%.120s)", ver);
    }
#else
    (void)argc;
    (void)argv;
#endif
    return d;
}

void lmc_dist_free(lmc_dist *d)
{
    if (!d) return;
#ifdef LMC_HAVE_MPI
    if (d->mpi) MPI_Finalize();
#endif
    free(d);
}

int lmc_dist_rank(const lmc_dist *d) { return d ? d->rank : 0; }
int lmc_dist_size(const lmc_dist *d) { return d ? d->size : 1; }
const char *lmc_dist_name(const lmc_dist *d) { return d ? d->name : "single process"; }
double lmc_dist_comm_seconds(const lmc_dist *d) { return d ? d->comm_s : 0.0; }
uint64_t lmc_dist_comm_bytes(const lmc_dist *d) { return d ? d->comm_bytes : 0; }

int lmc_dist_allreduce_mean(lmc_dist *d, float *buf, size_t n, size_t bucket_floats)
{
    if (!d || (!buf && n)) return lmc_set_error(LMC_ERR_INVALID_ARG, "lmc_dist_allreduce_mean: NULL argument");
    if (d->size == 1) return LMC_OK;
#ifdef LMC_HAVE_MPI
    if (bucket_floats == 0) bucket_floats = (size_t)4 << 20;
    if (bucket_floats > (size_t)1 << 30) bucket_floats = (size_t)1 << 30; /* MPI counts are int */
    const double t0 = now_s();
    const float inv = 1.0f / (float)d->size;
    for (size_t off = 0; off < n; off += bucket_floats) {
        const size_t m = n - off < bucket_floats ? n - off : bucket_floats;
        int rc = MPI_Allreduce(MPI_IN_PLACE, buf + off, (int)m, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return mpi_fail(rc, "MPI_Allreduce of the gradients");
        for (size_t i = 0; i < m; i++) buf[off + i] *= inv;
    }
    d->comm_s += now_s() - t0;
    d->comm_bytes += (uint64_t)n * sizeof(float);
    return LMC_OK;
#else
    (void)bucket_floats;
    return lmc_set_error(LMC_ERR_INTERNAL, "lmc_dist: %d ranks without MPI", d->size);
#endif
}

int lmc_dist_allreduce_sum_f64(lmc_dist *d, double *buf, size_t n)
{
    if (!d || (!buf && n)) return lmc_set_error(LMC_ERR_INVALID_ARG, "lmc_dist_allreduce_sum_f64: NULL argument");
    if (d->size == 1) return LMC_OK;
#ifdef LMC_HAVE_MPI
    const double t0 = now_s();
    int rc = MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    d->comm_s += now_s() - t0;
    if (rc != MPI_SUCCESS) return mpi_fail(rc, "MPI_Allreduce");
    return LMC_OK;
#else
    return lmc_set_error(LMC_ERR_INTERNAL, "lmc_dist: %d ranks without MPI", d->size);
#endif
}

int lmc_dist_broadcast(lmc_dist *d, void *buf, size_t bytes, int root)
{
    if (!d || (!buf && bytes)) return lmc_set_error(LMC_ERR_INVALID_ARG, "lmc_dist_broadcast: NULL argument");
    if (root < 0 || root >= d->size) return lmc_set_error(LMC_ERR_INVALID_ARG, "lmc_dist_broadcast: root %d of %d", root, d->size);
    if (d->size == 1) return LMC_OK;
#ifdef LMC_HAVE_MPI
    const double t0 = now_s();
    for (size_t off = 0; off < bytes;) {
        const size_t m = bytes - off < ((size_t)1 << 30) ? bytes - off : ((size_t)1 << 30);
        int rc = MPI_Bcast((char *)buf + off, (int)m, MPI_BYTE, root, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return mpi_fail(rc, "MPI_Bcast");
        off += m;
    }
    d->comm_s += now_s() - t0;
    return LMC_OK;
#else
    return lmc_set_error(LMC_ERR_INTERNAL, "lmc_dist: %d ranks without MPI", d->size);
#endif
}

int lmc_dist_barrier(lmc_dist *d)
{
    if (!d || d->size == 1) return LMC_OK;
#ifdef LMC_HAVE_MPI
    int rc = MPI_Barrier(MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) return mpi_fail(rc, "MPI_Barrier");
    return LMC_OK;
#else
    return lmc_set_error(LMC_ERR_INTERNAL, "lmc_dist: %d ranks without MPI", d->size);
#endif
}
