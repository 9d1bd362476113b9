import NIOCore
import NIOWebSocket

/// Reads chat-completion chunk messages on an upgraded, persistent WebSocket, one exchange at a time:
/// `start` sends the request as a text message; each chunk message is timestamped as it is read, and the
/// `[DONE]` message ends the exchange. Pings are answered; messages outside an exchange are dropped.
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

    private var context: ChannelHandlerContext?
    private var exchange: Exchange?
    private var message: [UInt8] = []

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    /// Drops the context: a handler holding its context forms a cycle with it (the context holds the
    /// handler) that would keep both, and the pipeline, alive after the channel closed.
    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// Sends `request` and reports the streamed answer through `promise`.
    func start(request: [UInt8], promise: EventLoopPromise<ExchangeReport>) {
        guard let context, context.channel.isActive else {
            promise.fail(ProbeFailure(.connectionClosed, "the WebSocket connection is closed"))
            return
        }
        exchange = Exchange(promise: promise, report: ExchangeReport(requestStarted: .now, ended: .now))
        message.removeAll()
        let written = context.eventLoop.makePromise(of: Void.self)
        written.futureResult.assumeIsolated().whenSuccess { self.exchange?.report.requestWritten = .now }
        let frame = WebSocketFrame(fin: true, opcode: .text, maskKey: .random(), data: ByteBuffer(bytes: request))
        context.writeAndFlush(wrapOutboundOut(frame), promise: written)
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
                if exchange?.report.firstByte == nil { exchange?.report.firstByte = now }
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
        if message.elementsEqual("[DONE]".utf8) {
            current.report.ended = now
            current.report.tokens = current.tokens.tokens
            current.report.contentChunks = current.tokens.tokens.count
            current.report.reportedOutputTokens = current.tokens.reportedOutputTokens
            exchange = nil
            current.promise.succeed(current.report)
            return
        }
        try current.tokens.receive(message, at: now)
        exchange = current
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context: context, error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        exchange?.promise.fail(ProbeFailure(.connectionClosed, "WebSocket closed before [DONE]"))
        exchange = nil
        context.fireChannelInactive()
    }

    private func fail(context: ChannelHandlerContext, _ error: any Error) {
        exchange?.promise.fail(ProbeFailure.classify(error))
        exchange = nil
        context.close(promise: nil)
    }
}
