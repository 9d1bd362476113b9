import NIOCore
import NIOHTTP1
import NIOWebSocket

/// `websocket`: an API over a persistent RFC 6455 WebSocket (`GET {base}/{route}`, upgraded).
///
/// Each probe sends the dialect's request messages and reads messages until the API's terminal event.
/// The connection stays open for the next probe (reopened before the API's session limit) and is pinged
/// between probes; the probe that opens it reports the connection phases, including the upgrade, and why
/// the connection before it was closed. Any failure closes it.
public actor WebSocketProber: TransportProber {
    public static let name = "websocket"
    /// Largest frame accepted from the server; a larger one is a protocol error.
    static let maxFrameBytes = 1 << 20

    private struct Session: Sendable {
        var channel: any Channel
        var handler: NIOLoopBound<WebSocketExchangeHandler>
        var opened = ProbeInstant.now
    }

    private enum Upgrade: Sendable {
        case upgraded(Session, ConnectionPhases, upgradedAt: ProbeInstant)
        case refused(EventLoopFuture<ExchangeReport>)
    }

    private let target: TargetConfig
    private let key: SeriesKey
    private let connector: ProbeConnector
    private let dialect: any APIDialect
    /// The request messages, one set per prompt.
    private let requests: PromptRotation<[[UInt8]]>
    private var session: Session?
    /// Why the last session ended, reported by the probe that opens the next one.
    private var closedBecause: ReconnectReason?

    public init(target: TargetConfig, group: any EventLoopGroup) throws {
        self.target = target
        self.key = target.seriesKey(transport: Self.name)
        self.connector = try ProbeConnector(target: target, group: group)
        self.dialect = target.dialect
        let dialect = self.dialect
        self.requests = PromptRotation(target.settings) { dialect.websocketRequest(prompt: $0) }
    }

    public func probe() async -> ProbeResult {
        if let session, let limit = dialect.websocketSessionLimit, session.opened.duration(to: .now) >= limit {
            await close(because: .sessionAge)  // reopen before the server ends the session
        }
        if let session, !session.channel.isActive {
            // Closed between probes: by the server, a broken connection or an unanswered keepalive ping.
            let reason = try? await session.channel.eventLoop.submit { session.handler.value.closeReason }.get()
            await close(because: reason ?? .serverClose)
        }
        var result = ProbeResult(
            key: key, timeline: ProbeTimeline(started: .now), streamed: true, connectionReused: session != nil)
        let deadline = result.timeline.started + target.timeout
        let (prompt, request) = requests.next()
        result.estimatedInputTokens = ProbeResult.estimatedTokens(of: prompt)
        do {
            let session: Session
            if let reusable = self.session {
                session = reusable
            } else {
                session = try await connect(deadline: target.connectDeadline(from: result.timeline.started),
                                            timeline: &result.timeline)
                self.session = session
                result.reconnectReason = closedBecause
                closedBecause = nil
            }
            let exchange = session.channel.eventLoop.makePromise(of: ExchangeReport.self)
            let timer = session.channel.armDeadline(deadline, what: "stream") { exchange.fail($0) }
            defer { timer.cancel() }
            session.channel.eventLoop.execute {
                session.handler.value.start(request: request, promise: exchange)
            }
            let report = try await exchange.futureResult.get()
            report.apply(to: &result)
            result.conclude(target: target, answer: report.answer)
        } catch {
            result.record(ProbeFailure.classify(error)) { $0.redactingSecrets(of: target) }
            result.conclude(target: target, answer: "")
            await close(because: .error)
        }
        return result
    }

    public func shutdown() async {
        await close(because: nil)
    }

    private func close(because reason: ReconnectReason?) async {
        guard let session else { return }
        self.session = nil
        if let reason { closedBecause = closedBecause ?? reason }
        try? await session.channel.close()
    }

    private func connect(deadline: ProbeInstant, timeline: inout ProbeTimeline) async throws(ProbeFailure) -> Session {
        let eventLoop = connector.group.next()
        let upgrade = eventLoop.makePromise(of: Upgrade.self)
        let head = upgradeRequestHead()
        let (dialect, settings) = (self.dialect, target.settings)
        let channel: any Channel
        do {
            channel = try await connector.connect(on: eventLoop, deadline: deadline, timeline: &timeline) { channel, _ in
                let upgrader = NIOTypedWebSocketClientUpgrader<Upgrade>(
                    maxFrameSize: Self.maxFrameBytes, enableAutomaticErrorHandling: false
                ) { channel, _ in
                    channel.eventLoop.makeCompletedFuture {
                        let upgradedAt = ProbeInstant.now
                        let handler = WebSocketExchangeHandler(dialect: dialect, timeouts: settings)
                        let sync = channel.pipeline.syncOperations
                        try sync.addHandler(handler)
                        let phases = try sync.handler(type: ConnectionPhaseRecorder.self).phases
                        let session = Session(channel: channel, handler: NIOLoopBound(handler, eventLoop: channel.eventLoop))
                        return .upgraded(session, phases, upgradedAt: upgradedAt)
                    }
                }
                let configuration = NIOTypedHTTPClientUpgradeConfiguration<Upgrade>(
                    upgradeRequestHead: head, upgraders: [upgrader],
                    notUpgradingCompletionHandler: { channel in
                        channel.eventLoop.makeCompletedFuture {
                            let refusal = channel.eventLoop.makePromise(of: ExchangeReport.self)
                            try channel.pipeline.syncOperations.addHandler(
                                HTTPExchangeHandler(kind: .refusedUpgrade, dialect: dialect, promise: refusal))
                            return .refused(refusal.futureResult)
                        }
                    })
                try channel.pipeline.syncOperations
                    .configureUpgradableHTTPClientPipeline(configuration: .init(upgradeConfiguration: configuration))
                    .cascade(to: upgrade)
            }
        } catch {
            upgrade.fail(error)
            throw error
        }
        let timer = channel.armDeadline(deadline, outcome: .connectTimeout, what: "WebSocket upgrade") { upgrade.fail($0) }
        defer { timer.cancel() }
        do {
            switch try await upgrade.futureResult.get() {
            case .upgraded(let session, let phases, let upgradedAt):
                timeline.connected = phases.connected
                timeline.proxyTunnelled = phases.proxyTunnelled
                timeline.tlsEstablished = phases.tlsEstablished
                timeline.upgraded = upgradedAt
                let opening = dialect.websocketOpening()
                if !opening.isEmpty {
                    session.channel.eventLoop.execute { session.handler.value.send(opening) }
                }
                return session
            case .refused(let refusal):
                _ = try await refusal.get()
                throw ProbeFailure(.protocolError, "WebSocket upgrade refused")
            }
        } catch ChannelError.inappropriateOperationForState where !channel.isActive {
            // The upgrade handler was torn down with the pipeline: the server closed the connection
            // before it answered the upgrade.
            throw ProbeFailure(.connectionClosed, "connection closed during the WebSocket upgrade")
        } catch {
            channel.close(promise: nil)
            throw ProbeFailure.classify(error)
        }
    }

    private func upgradeRequestHead() -> HTTPRequestHead {
        // No Content-Length: a GET has no body (RFC 9110 §8.6), and servers built on the Python `websockets`
        // library (uvicorn's default) never answer an upgrade request that carries one.
        HTTPRequestHead(version: .http1_1, method: .GET, uri: target.requestPath(for: dialect.websocketRoute),
                        headers: .probeRequest(for: target, dialect: dialect))
    }
}
