#ifndef INFERENCE_PROBE_MALLOC_TUNING_H
#define INFERENCE_PROBE_MALLOC_TUNING_H

#include <stddef.h>
#include <stdint.h>
#if defined(__linux__) && defined(__GLIBC__)
#include <malloc.h>
#endif
#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
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

/// Asks for transparent huge pages over the whole pages of [start, start + length); 0 on success, -1 where
/// refused or not available.
static inline int inference_probe_advise_huge_pages(void *start, size_t length) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t first = ((uintptr_t)start + page - 1) & ~(page - 1);
    uintptr_t end = ((uintptr_t)start + length) & ~(page - 1);
    return end > first ? madvise((void *)first, end - first, MADV_HUGEPAGE) : -1;
#else
    (void)start;
    (void)length;
    return -1;
#endif
}

#endif
