import NIOCore
import NIOHTTP1

/// One API request POSTed on a fresh connection, shared by the `http` and `http_sse` probers.
struct HTTPRoundTrip: Sendable {
    let target: TargetConfig
    let key: SeriesKey
    let streaming: Bool
    let dialect: any APIDialect
    let connector: ProbeConnector
    /// The request, the same for every probe.
    let request: PreparedRequest

    init(target: TargetConfig, transport: String, streaming: Bool, group: any EventLoopGroup) throws {
        self.target = target
        self.key = target.seriesKey(transport: transport)
        self.streaming = streaming
        self.dialect = target.dialect
        self.connector = try ProbeConnector(target: target, group: group)
        self.request = Self.request(for: target, dialect: dialect, streaming: streaming)
    }

    func run() async -> ProbeResult {
        var result = ProbeResult(key: key, timeline: ProbeTimeline(started: .now), streamed: streaming)
        let deadline = result.timeline.started + target.timeout
        let eventLoop = connector.group.next()
        let exchange = eventLoop.makePromise(of: ExchangeReport.self)
        let (head, body) = (request.head, request.body)
        let kind: HTTPExchangeHandler.BodyKind = streaming ? .serverSentEvents : .json
        let dialect = self.dialect
        do {
            let channel = try await connector.connect(on: eventLoop, deadline: deadline, timeline: &result.timeline) {
                channel, ready in
                try channel.pipeline.syncOperations.addHTTPClientHandlers()
                let handler = HTTPExchangeHandler(kind: kind, dialect: dialect, promise: exchange)
                try channel.pipeline.syncOperations.addHandler(handler)
                handler.start(when: ready, head: head, body: body)
            }
            let timer = channel.armDeadline(deadline, what: "response") { exchange.fail($0) }
            defer { timer.cancel() }
            let report = try await exchange.futureResult.get()
            report.apply(to: &result)
        } catch {
            exchange.fail(error)
            result.record(ProbeFailure.classify(error)) { $0.redactingSecrets(of: target) }
        }
        return result
    }

    private static func request(for target: TargetConfig, dialect: any APIDialect, streaming: Bool) -> PreparedRequest {
        let (route, body) = dialect.httpRequest(streaming: streaming)
        var headers = HTTPHeaders.probeRequest(for: target, dialect: dialect)
        headers.replaceOrAdd(name: "Content-Type", value: "application/json")
        headers.replaceOrAdd(name: "Accept", value: streaming ? "text/event-stream" : "application/json")
        headers.replaceOrAdd(name: "Content-Length", value: String(body.count))
        headers.replaceOrAdd(name: "Connection", value: "close")
        let head = HTTPRequestHead(
            version: .http1_1, method: .POST, uri: target.requestPath(for: route), headers: headers)
        return PreparedRequest(head: head, body: body)
    }
}
