/// The monotonic instant type every probe timestamp uses.
public typealias ProbeInstant = ContinuousClock.Instant

/// Monotonic timestamps of one probe, each taken on the event loop at the moment the bytes were seen.
///
/// Connection phases are `nil` when the probe reused an open connection (a persistent WebSocket) or never
/// got that far; `tokens` holds the arrival instant of every content-bearing chunk, in order.
public struct ProbeTimeline: Sendable, Equatable {
    /// The probe began (before DNS, or before writing on a reused connection).
    public var started: ProbeInstant
    /// Name resolution finished.
    public var resolved: ProbeInstant?
    /// TCP connected (`channelActive`): to the target, or to the egress proxy.
    public var connected: ProbeInstant?
    /// The egress proxy answered the `CONNECT` with 2xx: the tunnel to the target is open.
    public var proxyTunnelled: ProbeInstant?
    /// TLS handshake completed (https / wss only).
    public var tlsEstablished: ProbeInstant?
    /// The WebSocket upgrade response (101) was accepted.
    public var upgraded: ProbeInstant?
    /// The prober began writing the request on a ready connection: the origin of TTFB, TTFT and duration.
    public var requestStarted: ProbeInstant?
    /// The last byte of the request was handed to the kernel.
    public var requestWritten: ProbeInstant?
    /// The first byte of the response arrived.
    public var firstByte: ProbeInstant?
    /// Arrival of each chunk that carried output text.
    public var tokens: [ProbeInstant] = []
    /// The response ended (or the probe failed).
    public var ended: ProbeInstant?

    public init(started: ProbeInstant) {
        self.started = started
    }
}
