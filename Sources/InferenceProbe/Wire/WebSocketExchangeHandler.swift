import NIOCore
import NIOWebSocket

/// Reads an API's messages on an upgraded, persistent WebSocket, one exchange at a time: `start` sends the
/// request messages; each message is read by the dialect and text messages are timestamped as they are
/// read; the dialect's terminal event ends the exchange. Pings are answered; messages outside an exchange
/// are dropped.
final class WebSocketExchangeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    /// Largest message assembled from fragments.
    static let maxMessageBytes = 1 << 20

    private struct Exchange {
        var promise: EventLoopPromise<ExchangeReport>
        var report: ExchangeReport
        var tokens = TokenStreamAccumulator()
    }

    private let dialect: any APIDialect
    private var context: ChannelHandlerContext?
    private var exchange: Exchange?

    init(dialect: any APIDialect) {
        self.dialect = dialect
    }
    private var message: [UInt8] = []

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    /// Drops the context: a handler holding its context forms a cycle with it (the context holds the
    /// handler) that would keep both, and the pipeline, alive after the channel closed.
    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// Sends the `request` messages and reports the streamed answer through `promise`.
    func start(request: [[UInt8]], promise: EventLoopPromise<ExchangeReport>) {
        guard let context, context.channel.isActive else {
            promise.fail(ProbeFailure(.connectionClosed, "the WebSocket connection is closed"))
            return
        }
        exchange = Exchange(promise: promise, report: ExchangeReport(requestStarted: .now, ended: .now))
        message.removeAll()
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
            case .connectionClose:
                throw ProbeFailure(.connectionClosed, "the server closed the WebSocket")
            case .text, .binary, .continuation:
                guard message.count + frame.length <= Self.maxMessageBytes else {
                    throw ProbeFailure(.protocolError, "WebSocket message larger than \(Self.maxMessageBytes) bytes")
                }
                message.append(contentsOf: frame.unmaskedData.readableBytesView)
                if frame.fin {
                    defer { message.removeAll(keepingCapacity: true) }
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
        guard var current = exchange else { return }
        let event = try dialect.readEvent(message)
        if !event.isSessionEvent, current.report.firstByte == nil { current.report.firstByte = now }
        try current.tokens.receive(event, at: now)
        guard current.tokens.ended != nil else {
            exchange = current
            return
        }
        current.tokens.fill(&current.report)
        exchange = nil
        current.promise.succeed(current.report)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context: context, error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        exchange?.promise.fail(ProbeFailure(.connectionClosed, "WebSocket closed before the API's terminal event"))
        exchange = nil
        context.fireChannelInactive()
    }

    private func fail(context: ChannelHandlerContext, _ error: any Error) {
        exchange?.promise.fail(ProbeFailure.classify(error))
        exchange = nil
        context.close(promise: nil)
    }
}
