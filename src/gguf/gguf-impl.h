/* gguf-impl.h — what the GGUF writer needs from the reader beyond the public API. */
#ifndef LMC_GGUF_IMPL_H
#define LMC_GGUF_IMPL_H

#include "lmc.h"

/* The stored little-endian bytes of a scalar value (1, 2, 4 or 8 of them), so copying
 * a value keeps it bit for bit (a float NaN payload survives); NULL for strings and
 * arrays. */
const void *lmc_gguf_value_scalar_bytes(const lmc_gguf_value *v);

#endif /* LMC_GGUF_IMPL_H */
