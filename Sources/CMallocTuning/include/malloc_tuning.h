#ifndef INFERENCE_PROBE_MALLOC_TUNING_H
#define INFERENCE_PROBE_MALLOC_TUNING_H

#include <stddef.h>
#include <stdint.h>
#if defined(__linux__) && defined(__GLIBC__)
#include <malloc.h>
#endif

/// Sets glibc's mmap threshold (and so turns off its dynamic adjustment); 0 where there is no glibc.
static inline int inference_probe_set_mmap_threshold(int bytes) {
#if defined(__linux__) && defined(__GLIBC__) && defined(M_MMAP_THRESHOLD)
    return mallopt(M_MMAP_THRESHOLD, bytes);
#else
    (void)bytes;
    return 0;
#endif
}

#endif
