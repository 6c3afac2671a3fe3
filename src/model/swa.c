/* Sliding-window attention: which layers look back only a fixed number of tokens. */
#include "model-impl.h"

int32_t lmc_model_layer_window(const lmc_model *m, int il)
{
    (void)m;
    (void)il;
    return 0; /* no model read so far declares a window */
}
