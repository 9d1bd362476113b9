import NIOCore
import NIOHTTP1

/// One API request POSTed on a fresh connection, shared by the `http` and `http_sse` probers.
struct HTTPRoundTrip: Sendable {
    let target: TargetConfig
    let key: SeriesKey
    let streaming: Bool
    let dialect: any APIDialect
    let connector: ProbeConnector
    /// The request bodies, one per prompt.
    let bodies: PromptRotation<[UInt8]>
    /// The request head, the same for every probe but for its Content-Length.
    let request: PreparedRequest

    init(target: TargetConfig, transport: String, streaming: Bool, group: any EventLoopGroup) throws {
        self.target = target
        self.key = target.seriesKey(transport: transport)
        self.streaming = streaming
        self.dialect = target.dialect
        self.connector = try ProbeConnector(target: target, group: group)
        let (dialect, streaming) = (self.dialect, streaming)
        self.bodies = PromptRotation(target.settings) { dialect.httpBody(streaming: streaming, prompt: $0) }
        self.request = PreparedRequest(head: Self.head(for: target, dialect: dialect, streaming: streaming))
    }

    func run() async -> ProbeResult {
        var result = ProbeResult(key: key, timeline: ProbeTimeline(started: .now), streamed: streaming)
        let deadline = result.timeline.started + target.timeout
        let eventLoop = connector.group.next()
        let exchange = eventLoop.makePromise(of: ExchangeReport.self)
        let (prompt, body) = bodies.next()
        result.estimatedInputTokens = ProbeResult.estimatedTokens(of: prompt)
        let head = request.head(bodyLength: body.count)
        let kind: HTTPExchangeHandler.BodyKind = streaming ? .serverSentEvents : .json
        let (dialect, settings, streaming) = (self.dialect, target.settings, self.streaming)
        do {
            let channel = try await connector.connect(
                on: eventLoop, deadline: target.connectDeadline(from: result.timeline.started), timeline: &result.timeline
            ) { channel, ready in
                try channel.pipeline.syncOperations.addHTTPClientHandlers()
                let watchdog = streaming ? StreamWatchdog(firstToken: settings.firstTokenTimeout, stall: settings.stallTimeout) : nil
                let handler = HTTPExchangeHandler(kind: kind, dialect: dialect, promise: exchange, watchdog: watchdog)
                try channel.pipeline.syncOperations.addHandler(handler)
                handler.start(when: ready, head: head, body: body)
            }
            let timer = channel.armDeadline(deadline, what: "response") { exchange.fail($0) }
            defer { timer.cancel() }
            let report = try await exchange.futureResult.get()
            report.apply(to: &result)
            result.conclude(target: target, answer: report.answer)
        } catch {
            exchange.fail(error)
            result.record(ProbeFailure.classify(error)) { $0.redactingSecrets(of: target) }
            result.conclude(target: target, answer: "")
        }
        return result
    }

    private static func head(for target: TargetConfig, dialect: any APIDialect, streaming: Bool) -> HTTPRequestHead {
        var headers = HTTPHeaders.probeRequest(for: target, dialect: dialect)
        headers.replaceOrAdd(name: "Content-Type", value: "application/json")
        headers.replaceOrAdd(name: "Accept", value: streaming ? "text/event-stream" : "application/json")
        headers.replaceOrAdd(name: "Connection", value: "close")
        return HTTPRequestHead(version: .http1_1, method: .POST, uri: target.requestPath(for: dialect.httpRoute()), headers: headers)
    }
}

extension TargetConfig {
    /// When opening a connection must be done: `connect_timeout` after the start, or the probe's own end.
    func connectDeadline(from started: ProbeInstant) -> ProbeInstant {
        started + min(settings.connectTimeout, timeout)
    }
}
