import NIOCore

/// The keepalive pings of one persistent WebSocket, on its event loop: a ping `interval` after the last
/// exchange or pong, each with a fresh 8-byte payload; its pong must come within `timeout`.
final class WebSocketKeepalive {
    enum Event {
        /// Send a ping with this payload.
        case pingDue(ByteBuffer)
        /// The last ping went unanswered for `timeout`.
        case pongMissing
    }

    private let interval: TimeAmount
    private let timeout: TimeAmount
    private var timer: Scheduled<Void>?
    private var outstanding: (payload: UInt64, sentAt: NIODeadline)?
    private var sequence: UInt64 = 0

    init(interval: Duration, timeout: Duration) {
        self.interval = TimeAmount(interval)
        self.timeout = TimeAmount(timeout)
    }

    /// Arms the next ping (replacing any pending one); `handle` is called on `loop` when it is due and
    /// again if its pong does not come.
    func schedule(on loop: any EventLoop, handle: @escaping (Event) -> Void) {
        stop()
        let isolated = loop.assumeIsolated()
        timer = isolated.scheduleTask(in: interval) { [self] in
            sequence &+= 1
            outstanding = (sequence, .now())
            handle(.pingDue(ByteBuffer(integer: sequence)))
            timer = isolated.scheduleTask(in: timeout) { handle(.pongMissing) }
        }
    }

    /// The round trip in seconds when `payload` answers the outstanding ping, else `nil` (unsolicited pong).
    func pongReceived(_ payload: ByteBuffer) -> Double? {
        guard let outstanding, payload.getInteger(at: payload.readerIndex, as: UInt64.self) == outstanding.payload else {
            return nil
        }
        let roundTrip = NIODeadline.now() - outstanding.sentAt
        stop()
        return Double(roundTrip.nanoseconds) / 1e9
    }

    func stop() {
        timer?.cancel()
        timer = nil
        outstanding = nil
    }
}
