/* lmc_dist collectives: under `mpirun -np R` every rank must see the mean / sum the
 * arithmetic says, across bucket boundaries; alone it is rank 0 of 1 and a no-op. */
#include "lmc.h"
#include "test_util.h"

#include <math.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    lmc_dist *d = lmc_dist_init(&argc, &argv);
    CHECK(d != NULL);
    const int r = lmc_dist_rank(d), R = lmc_dist_size(d);
    const int want = argc > 1 ? atoi(argv[1]) : 1;
    CHECK(R == want);
    CHECK(r >= 0 && r < R);

    /* n not a multiple of the bucket, so the last bucket is short */
    const size_t n = 10007;
    float *g = malloc(n * sizeof *g);
    CHECK(g != NULL);
    for (size_t i = 0; i < n; i++) g[i] = (float)(r + 1) * 0.5f + (float)(i % 97);
    CHECK(lmc_dist_allreduce_mean(d, g, n, 1000) == LMC_OK);
    /* mean over r of (r+1)/2 = (R+1)/4 */
    for (size_t i = 0; i < n; i++) CHECK(fabsf(g[i] - ((float)(R + 1) * 0.25f + (float)(i % 97))) < 1e-5f);

    double s[2] = {1.0, (double)r};
    CHECK(lmc_dist_allreduce_sum_f64(d, s, 2) == LMC_OK);
    CHECK(s[0] == (double)R);
    CHECK(s[1] == (double)R * (R - 1) / 2);

    char msg[32] = {0};
    if (r == 0) snprintf(msg, sizeof msg, "from rank zero");
    CHECK(lmc_dist_broadcast(d, msg, sizeof msg, 0) == LMC_OK);
    CHECK(strcmp(msg, "from rank zero") == 0);
    CHECK(lmc_dist_barrier(d) == LMC_OK);
    if (R > 1) CHECK(lmc_dist_comm_bytes(d) == n * sizeof(float));
    printf("rank %d/%d (%s): ok, %.3f ms in collectives\n", r, R, lmc_dist_name(d), 1e3 * lmc_dist_comm_seconds(d));
    free(g);
    lmc_dist_free(d);
    return t_done("dist_allreduce");
}
