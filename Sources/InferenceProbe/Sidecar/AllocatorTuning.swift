import CMallocTuning

/// Process-wide allocator settings for a long-running sidecar.
public enum AllocatorTuning {
    /// Serve buffers of 256 KiB and more (an 8 MiB body a misbehaving target sent, a 1 MiB WebSocket
    /// message) with their own mappings, returned to the system when freed. glibc would otherwise raise its
    /// mmap threshold after the first such buffer is freed and keep later ones in the heap, where they
    /// stay resident: RSS then jumps by tens of MB after the first oversized answer and never comes down.
    public static func returnLargeBuffersToTheSystem() {
        _ = inference_probe_set_mmap_threshold(256 << 10)
    }
}
