import NIOCore
import NIOHTTP1

/// Drives one API request on a fresh HTTP/1.1 connection and reads the answer on the event loop: a single
/// JSON body (`.json`) or a `text/event-stream` (`.serverSentEvents`), each event read by the API's dialect
/// and every text event timestamped as it is read. Any non-2xx answer becomes a failure classified by its
/// status; a stream is watched for a late first token and for stalls.
final class HTTPExchangeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    enum BodyKind {
        case json
        case serverSentEvents
        /// A refused WebSocket upgrade: any answer is a failure, read only for its status and message.
        case refusedUpgrade
    }

    /// Largest body read for a JSON answer or an error message.
    static let maxBodyBytes = 8 << 20

    private let kind: BodyKind
    private let dialect: any APIDialect
    private let promise: EventLoopPromise<ExchangeReport>
    private var report: ExchangeReport
    private var status = 0
    private var body: [UInt8] = []
    private var events = ServerSentEventDecoder()
    private var tokens = TokenStreamAccumulator()
    private var context: ChannelHandlerContext?
    private let watchdog: StreamWatchdog?

    /// `watchdog` watches a streamed answer (`.serverSentEvents`) from the moment the request is sent.
    init(kind: BodyKind, dialect: any APIDialect, promise: EventLoopPromise<ExchangeReport>, watchdog: StreamWatchdog? = nil) {
        self.kind = kind
        self.dialect = dialect
        self.promise = promise
        self.watchdog = watchdog
        self.report = ExchangeReport(requestStarted: .now, ended: .now)
    }

    /// Output has begun: a closed connection now cuts an answer short instead of preventing one.
    private var hasContent: Bool { kind == .serverSentEvents ? !tokens.tokens.isEmpty : (succeeded && !body.isEmpty) }

    /// The response status is 2xx.
    private var succeeded: Bool { (200..<300).contains(status) }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    /// Drops the context: a handler holding its context forms a cycle with it (the context holds the
    /// handler) that would keep both, and the pipeline, alive after the channel closed.
    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        watchdog?.stop()
    }

    /// Writes the request as soon as `ready` succeeds (after TCP, or after TLS); fails the exchange if not.
    func start(when ready: EventLoopFuture<ConnectionPhases>, head: HTTPRequestHead, body: [UInt8]) {
        ready.assumeIsolated().whenComplete { result in
            switch result {
            case .success(let phases):
                self.report.phases = phases
                self.write(head: head, body: body)
            case .failure(let error):
                self.promise.fail(ProbeFailure.classify(error))
            }
        }
    }

    private func write(head: HTTPRequestHead, body: [UInt8]) {
        guard let context else { return }
        report.requestStarted = .now
        watchdog?.start(on: context.eventLoop) { [weak self] failure in
            guard let self, let context = self.context else { return }
            self.fail(context: context, failure)
        }
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
        let written = context.eventLoop.makePromise(of: Void.self)
        written.futureResult.assumeIsolated().whenSuccess { self.report.requestWritten = .now }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: written)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let now = ProbeInstant.now
        do {
            switch unwrapInboundIn(data) {
            case .head(let head):
                report.firstByte = now
                status = Int(head.status.code)
                report.status = status
                report.rateLimit = RateLimitHeaders.status(in: head.headers)
                if kind == .refusedUpgrade || !succeeded { break }
                let contentType = head.headers.first(name: "content-type")?.lowercased() ?? ""
                if kind == .serverSentEvents && !contentType.hasPrefix("text/event-stream") {
                    throw ProbeFailure(.protocolError, "expected text/event-stream, got '\(contentType)'")
                }
            case .body(let buffer):
                if kind == .serverSentEvents && succeeded {
                    let completed = try buffer.withUnsafeReadableBytes { bytes in
                        Result { () throws(ProbeFailure) in try events.feed(bytes) }
                    }.get()
                    for event in completed where tokens.ended == nil {
                        let read = try dialect.readEvent(event)
                        watchdog?.chunk(hasText: read.hasText)
                        try tokens.receive(read, at: now)
                    }
                } else {
                    guard body.count + buffer.readableBytes <= Self.maxBodyBytes else {
                        throw ProbeFailure(.oversize, "response body larger than \(Self.maxBodyBytes) bytes")
                    }
                    body.append(contentsOf: buffer.readableBytesView)
                }
            case .end:
                report.ended = now
                watchdog?.stop()
                try finish()
                promise.succeed(report)
                context.close(promise: nil)
            }
        } catch {
            fail(context: context, error)
        }
    }

    private func finish() throws(ProbeFailure) {
        guard succeeded, kind != .refusedUpgrade else {
            var failure = ProbeFailure.httpStatus(status, message: DialectJSON.errorMessage(in: body))
            if kind == .refusedUpgrade { failure.detail = "WebSocket upgrade refused: \(failure.detail)" }
            failure.rateLimit = report.rateLimit
            throw failure
        }
        switch kind {
        case .serverSentEvents:
            guard tokens.ended != nil else {
                throw hasContent
                    ? ProbeFailure(.truncated, "the event stream ended after \(tokens.tokens.count) text events, before the API's terminal event")
                    : ProbeFailure(.protocolError, "the event stream ended without output or the API's terminal event")
            }
            tokens.fill(&report)
        case .json, .refusedUpgrade:
            let answer = try dialect.readBody(body)
            report.contentChunks = answer.hasText ? 1 : 0
            report.answer = String(answer.text.prefix(TokenStreamAccumulator.maxAnswerBytes))
            report.inputTokens = answer.inputTokens
            report.reportedOutputTokens = answer.outputTokens
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context: context, error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        watchdog?.stop()
        promise.fail(ProbeFailure(.connectionClosed, "connection closed before the response ended")
            .afterOutput(hasContent, status: status))
        context.fireChannelInactive()
    }

    private func fail(context: ChannelHandlerContext, _ error: any Error) {
        watchdog?.stop()
        promise.fail(ProbeFailure.classify(error).afterOutput(hasContent, status: status))
        context.close(promise: nil)
    }
}
