import NIOCore
import NIOWebSocket

/// Reads an API's messages on an upgraded, persistent WebSocket, one exchange at a time: `start` sends the
/// request messages; each message is read by the dialect and text messages are timestamped as they are
/// read; the dialect's terminal event ends the exchange. Pings are answered; messages outside an exchange
/// are dropped.
///
/// Between exchanges it pings the server (`WebSocketKeepalive`): a ping unanswered in time closes the
/// connection, so a connection a proxy dropped silently is found before the next probe needs it. Why the
/// connection closed is kept for the prober (`closeReason`).
final class WebSocketExchangeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    /// Largest message assembled from fragments.
    static let maxMessageBytes = 1 << 20
    /// Ping round trips kept between two probes.
    static let maxPingRoundTrips = 64

    private struct Exchange {
        var promise: EventLoopPromise<ExchangeReport>
        var report: ExchangeReport
        var tokens = TokenStreamAccumulator()
    }

    private let dialect: any APIDialect
    private let watchdog: StreamWatchdog
    private let keepalive: WebSocketKeepalive?
    private var context: ChannelHandlerContext?
    private var exchange: Exchange?
    private var message: [UInt8] = []
    private var pingRoundTrips: [Double] = []
    /// Why the connection closed (set once, by what closed it first).
    private(set) var closeReason: ReconnectReason?

    init(dialect: any APIDialect, timeouts: ProbeDefaults) {
        self.dialect = dialect
        self.watchdog = StreamWatchdog(firstToken: timeouts.firstTokenTimeout, stall: timeouts.stallTimeout)
        self.keepalive = timeouts.websocketPingInterval > .zero
            ? WebSocketKeepalive(interval: timeouts.websocketPingInterval, timeout: timeouts.websocketPongTimeout) : nil
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        scheduleKeepalive(context: context)
    }

    /// Drops the context: a handler holding its context forms a cycle with it (the context holds the
    /// handler) that would keep both, and the pipeline, alive after the channel closed.
    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        watchdog.stop()
        keepalive?.stop()
    }

    /// Sends the `request` messages and reports the streamed answer through `promise`.
    func start(request: [[UInt8]], promise: EventLoopPromise<ExchangeReport>) {
        guard let context, context.channel.isActive else {
            promise.fail(ProbeFailure(.connectionClosed, "the WebSocket connection is closed"))
            return
        }
        keepalive?.stop()
        var report = ExchangeReport(requestStarted: .now, ended: .now)
        report.pingRoundTrips = pingRoundTrips
        pingRoundTrips.removeAll()
        exchange = Exchange(promise: promise, report: report)
        message.removeAll()
        watchdog.start(on: context.eventLoop) { [weak self] failure in
            guard let self, let context = self.context else { return }
            self.fail(context: context, failure)
        }
        let written = context.eventLoop.makePromise(of: Void.self)
        written.futureResult.assumeIsolated().whenSuccess { self.exchange?.report.requestWritten = .now }
        send(request, context: context, last: written)
    }

    /// Sends messages outside any exchange (a session's opening messages).
    func send(_ messages: [[UInt8]]) {
        guard let context else { return }
        send(messages, context: context, last: nil)
    }

    private func send(_ messages: [[UInt8]], context: ChannelHandlerContext, last: EventLoopPromise<Void>?) {
        for (index, message) in messages.enumerated() {
            let frame = WebSocketFrame(fin: true, opcode: .text, maskKey: .random(), data: ByteBuffer(bytes: message))
            context.write(wrapOutboundOut(frame), promise: index == messages.count - 1 ? last : nil)
        }
        context.flush()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let now = ProbeInstant.now
        let frame = unwrapInboundIn(data)
        do {
            switch frame.opcode {
            case .ping:
                let pong = WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: frame.unmaskedData)
                context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
            case .pong:
                if let roundTrip = keepalive?.pongReceived(frame.unmaskedData) {
                    if pingRoundTrips.count < Self.maxPingRoundTrips { pingRoundTrips.append(roundTrip) }
                    scheduleKeepalive(context: context)
                }
            case .connectionClose:
                closeReason = closeReason ?? (exchange == nil ? .serverClose : .error)
                throw ProbeFailure(.connectionClosed, "the server closed the WebSocket")
            case .text, .binary, .continuation:
                guard message.count + frame.length <= Self.maxMessageBytes else {
                    throw ProbeFailure(.oversize, "WebSocket message larger than \(Self.maxMessageBytes) bytes")
                }
                message.append(contentsOf: frame.unmaskedData.readableBytesView)
                if frame.fin {
                    // Keep the buffer for the next message unless an outsized one grew it.
                    defer { message.removeAll(keepingCapacity: message.capacity <= 64 << 10) }
                    try receive(message, at: now)
                }
            default:
                break
            }
        } catch {
            fail(context: context, error)
        }
    }

    private func receive(_ message: [UInt8], at now: ProbeInstant) throws(ProbeFailure) {
        // Taken out while it is updated, so its arrays are not copied for every message; put back unless it
        // succeeded (a failure thrown here is `fail`'s to report).
        guard var current = exchange.take() else { return }
        var succeeded = false
        defer { if !succeeded { exchange = current } }
        let event = try dialect.readEvent(message)
        if !event.isSessionEvent, current.report.firstByte == nil { current.report.firstByte = now }
        if !event.isSessionEvent { watchdog.chunk(hasText: event.hasText) }
        try current.tokens.receive(event, at: now)
        guard current.tokens.ended != nil else { return }
        succeeded = true
        watchdog.stop()
        current.tokens.fill(&current.report)
        current.promise.succeed(current.report)
        if let context { scheduleKeepalive(context: context) }
    }

    /// Schedules the next keepalive ping; when it is due between exchanges, it is sent and its pong awaited.
    private func scheduleKeepalive(context: ChannelHandlerContext) {
        keepalive?.schedule(on: context.eventLoop) { [weak self] event in
            guard let self, let context = self.context, self.exchange == nil else { return }
            switch event {
            case .pingDue(let payload):
                let ping = WebSocketFrame(fin: true, opcode: .ping, maskKey: .random(), data: payload)
                context.writeAndFlush(self.wrapOutboundOut(ping), promise: nil)
            case .pongMissing:
                self.closeReason = self.closeReason ?? .pongTimeout
                context.close(promise: nil)
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context: context, error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        closeReason = closeReason ?? (exchange == nil ? .serverClose : .error)
        watchdog.stop()
        keepalive?.stop()
        exchange?.promise.fail(ProbeFailure(.connectionClosed, "WebSocket closed before the API's terminal event")
            .afterOutput(outputBegan))
        exchange = nil
        context.fireChannelInactive()
    }

    private func fail(context: ChannelHandlerContext, _ error: any Error) {
        closeReason = closeReason ?? .error
        watchdog.stop()
        exchange?.promise.fail(ProbeFailure.classify(error).afterOutput(outputBegan))
        exchange = nil
        context.close(promise: nil)
    }

    /// Output of the exchange in flight has begun.
    private var outputBegan: Bool { exchange.map { !$0.tokens.tokens.isEmpty } ?? false }
}
