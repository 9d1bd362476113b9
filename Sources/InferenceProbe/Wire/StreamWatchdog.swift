import NIOCore

/// Watches a streamed answer on its event loop: no output text within `firstToken` of the request is a
/// `first_token_timeout`; no chunk for `stall` after the first output text is a `stream_stall`.
///
/// One timer at a time: a later chunk only records when it came, and a timer that fires early re-arms
/// itself for the new limit, so a fast stream costs no timer work per chunk.
final class StreamWatchdog {
    private let firstToken: TimeAmount
    private let stall: TimeAmount
    private var sawText = false
    private var lastChunk = NIODeadline.now()
    private var timer: Scheduled<Void>?
    private var loop: (any EventLoop)?
    /// Called at most once per watch; dropped by `stop` (it holds the owner of this watchdog).
    private var expire: ((ProbeFailure) -> Void)?

    init(firstToken: Duration, stall: Duration) {
        self.firstToken = TimeAmount(firstToken)
        self.stall = TimeAmount(stall)
    }

    /// Starts watching, from the moment the request is sent; `expire` is called on `loop`.
    func start(on loop: any EventLoop, expire: @escaping (ProbeFailure) -> Void) {
        stop()
        (self.loop, self.expire, sawText) = (loop, expire, false)
        arm(at: .now() + firstToken)
    }

    /// A chunk arrived (`hasText`: it carried output text).
    func chunk(hasText: Bool) {
        guard sawText || hasText else { return }
        lastChunk = .now()
        if !sawText {
            sawText = true
            timer?.cancel()
            arm(at: lastChunk + stall)
        }
    }

    func stop() {
        timer?.cancel()
        (timer, loop, expire) = (nil, nil, nil)
    }

    private func arm(at deadline: NIODeadline) {
        guard let loop else { return }
        timer = loop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            timer = nil
            guard sawText else {
                fire(ProbeFailure(.firstTokenTimeout, "no output text within \(Self.format(firstToken)) of the request"))
                return
            }
            let limit = lastChunk + stall
            guard limit > .now() else {
                fire(ProbeFailure(.streamStall, "the stream stalled: nothing for \(Self.format(stall)) after output began"))
                return
            }
            arm(at: limit)
        }
    }

    private func fire(_ failure: ProbeFailure) {
        let expire = self.expire
        stop()
        expire?(failure)
    }

    private static func format(_ amount: TimeAmount) -> String {
        PrometheusDuration.format(.nanoseconds(amount.nanoseconds))
    }
}
