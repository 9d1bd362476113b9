import NIOCore

/// Opens a `CONNECT` tunnel through an HTTP proxy: when the connection to the proxy is up it asks for
/// `authority` and reads the proxy's answer head. On a 2xx it calls `install` (on the event loop, with the
/// instants of the TCP connect and of the answer) to add the TLS and protocol handlers behind it, then
/// leaves the pipeline, passing on any bytes that followed the head. A refusal (407, 403, 502, ...) fails
/// `failed` with `proxy_error` and closes the connection.
final class ProxyTunnelHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// When the TCP connection to the proxy and the tunnel were ready.
    struct Instants: Sendable {
        var connected: ProbeInstant
        var tunnelled: ProbeInstant
    }

    /// Largest answer head read from a proxy.
    static let maxHeadLength = 16 * 1024

    private let request: String
    private let install: (any Channel, Instants) throws -> Void
    private let failed: EventLoopPromise<ConnectionPhases>
    private var connected: ProbeInstant?
    private var head: ByteBuffer?

    init(authority: String, authorization: Secret?, failed: EventLoopPromise<ConnectionPhases>,
         install: @escaping (any Channel, Instants) throws -> Void) {
        var request = "CONNECT \(authority) HTTP/1.1\r\nHost: \(authority)\r\n"
        if let authorization { request += "Proxy-Authorization: \(authorization.value)\r\n" }
        self.request = request + "\r\n"
        self.failed = failed
        self.install = install
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { sendRequest(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        sendRequest(context: context)
        context.fireChannelActive()
    }

    private func sendRequest(context: ChannelHandlerContext) {
        guard connected == nil else { return }
        connected = .now
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: request)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if head == nil { head = bytes } else { head!.writeBuffer(&bytes) }
        guard let view = head?.readableBytesView, let end = view.firstRange(of: Array("\r\n\r\n".utf8)) else {
            if (head?.readableBytes ?? 0) > Self.maxHeadLength { fail(context, ProbeFailure(.proxyError, "proxy answered CONNECT with an oversized head")) }
            return
        }
        let headLength = view.distance(from: view.startIndex, to: end.upperBound)
        let text = head!.readString(length: headLength) ?? ""
        let statusLine = text.prefix { !$0.isNewline }  // "\r\n" is one Character
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            return fail(context, ProbeFailure(.proxyError, "proxy answered CONNECT with no HTTP status line"))
        }
        guard (200..<300).contains(status) else {
            let reason = parts.count > 2 ? " " + parts[2].prefix(80) : ""
            var failure = ProbeFailure(.proxyError, "proxy refused CONNECT: \(status)\(reason)")
            failure.status = status
            return fail(context, failure)
        }
        do {
            try install(context.channel, Instants(connected: connected ?? .now, tunnelled: .now))
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        } catch {
            fail(context, ProbeFailure.classify(error))
        }
    }

    /// Passes on what arrived after the proxy's answer head, now that the handlers above are in place.
    func removeHandler(context: ChannelHandlerContext, removalToken: ChannelHandlerContext.RemovalToken) {
        if let head, head.readableBytes > 0 {
            self.head = nil
            context.fireChannelRead(wrapInboundOut(head))
        }
        context.leavePipeline(removalToken: removalToken)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failed.fail(error)
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failed.fail(ProbeFailure(.proxyError, "proxy closed the connection before the tunnel was open"))
        context.fireChannelInactive()
    }

    private func fail(_ context: ChannelHandlerContext, _ failure: ProbeFailure) {
        failed.fail(failure)
        context.close(promise: nil)
    }
}
