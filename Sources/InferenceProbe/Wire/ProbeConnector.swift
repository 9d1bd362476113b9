import NIOCore
import NIOPosix
import NIOSSL

/// Opens the connection of one probe: resolves the host, connects TCP (through a `CONNECT` tunnel when the
/// target has an egress proxy), adds TLS for https, all before the connect deadline (`connect_timeout`, or
/// the probe's end if sooner), recording when each phase finished.
struct ProbeConnector: Sendable {
    let group: any EventLoopGroup
    let tls: NIOSSLContext?
    let host: String
    let port: Int
    /// The TLS server name (SNI and verification); `nil` for an IP address.
    let serverName: String?
    /// The proxy to tunnel through; DNS and TCP then go to the proxy.
    let proxy: EgressProxy?

    /// Builds the connector for a target; a bad CA file fails here, at start-up.
    init(target: TargetConfig, group: any EventLoopGroup) throws {
        self.group = group
        self.host = target.baseURL.host
        self.port = target.baseURL.port
        self.serverName = Self.isIPAddress(target.baseURL.host) ? nil : target.baseURL.host
        self.proxy = target.proxy
        guard target.baseURL.secure else {
            self.tls = nil
            return
        }
        self.tls = try ClientTLSContexts.context(for: target.tls)
    }

    /// Connects on `eventLoop`, trying each resolved address in turn. `configure` runs on the loop and
    /// adds the protocol handlers above the phase recorder; it is handed a future that succeeds when
    /// requests can be written (after TLS).
    func connect(
        on eventLoop: any EventLoop, deadline: ProbeInstant, timeline: inout ProbeTimeline,
        configure: @escaping @Sendable (any Channel, EventLoopFuture<ConnectionPhases>) throws -> Void
    ) async throws(ProbeFailure) -> any Channel {
        let addresses = try await resolve(on: eventLoop, deadline: deadline)
        timeline.resolved = .now
        var failure = ProbeFailure(.connectError, "no address to connect to")
        for address in addresses {
            guard ProbeInstant.now < deadline else { throw ProbeFailure(.connectTimeout, "connect timed out") }
            do {
                return try await connect(to: address, on: eventLoop, deadline: deadline, configure: configure)
            } catch {
                failure = error
                guard error.outcome == .connectError else { throw error }
            }
        }
        throw failure
    }

    private func connect(
        to address: SocketAddress, on eventLoop: any EventLoop, deadline: ProbeInstant,
        configure: @escaping @Sendable (any Channel, EventLoopFuture<ConnectionPhases>) throws -> Void
    ) async throws(ProbeFailure) -> any Channel {
        let ready = eventLoop.makePromise(of: ConnectionPhases.self)
        let remaining = max(deadline - .now, .milliseconds(1))
        let (tls, serverName, proxy) = (self.tls, self.serverName, self.proxy)
        /// TLS, the phase recorder and the protocol handlers: at once, or once the proxy tunnel is open.
        let install: @Sendable (any Channel, ConnectionPhases) throws -> Void = { channel, phases in
            let sync = channel.pipeline.syncOperations
            if let tls {
                try sync.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverName))
            }
            try sync.addHandler(ConnectionPhaseRecorder(expectsTLS: tls != nil, ready: ready, phases: phases))
            try configure(channel, ready.futureResult)
        }
        let authority = Self.isIPAddress(host) && host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(TimeAmount(remaining))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard let proxy else { return try install(channel, ConnectionPhases()) }
                    try channel.pipeline.syncOperations.addHandler(ProxyTunnelHandler(
                        authority: authority, authorization: proxy.authorization, failed: ready
                    ) { channel, instants in
                        try install(channel, ConnectionPhases(connected: instants.connected, proxyTunnelled: instants.tunnelled))
                    })
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(to: address).get()
        } catch {
            ready.fail(error)
            var failure = ProbeFailure.classify(error)
            if let proxy { failure.detail = "proxy \(proxy): " + failure.detail }
            throw failure
        }
        guard tls != nil || proxy != nil else { return channel }
        // Wait for the tunnel and the handshake here, so that a refused certificate can be explained
        // before the probe ends.
        let timer = eventLoop.scheduleTask(deadline: .deadline(for: deadline)) {
            ready.fail(ProbeFailure(.connectTimeout, proxy != nil ? "proxy tunnel or TLS handshake timed out" : "TLS handshake timed out"))
        }
        defer { timer.cancel() }
        do {
            _ = try await ready.futureResult.get()
            return channel
        } catch {
            channel.close(promise: nil)
            var failure = ProbeFailure.classify(error)
            if failure.outcome == .tlsError, proxy == nil, TLSFailureReport.isCertificateRefusal(error),
               let certificate = await TLSFailureReport.peerCertificate(
                   at: address, serverName: serverName, on: eventLoop, timeout: TimeAmount(max(deadline - .now, .milliseconds(1))))
            {
                failure.detail = "TLS: " + TLSFailureReport.describe(certificate, serverName: serverName ?? host)
            }
            throw failure
        }
    }

    /// Resolves the host on NIO's thread pool; the deadline wins over a hung resolver. An IP address is
    /// its own answer, taken on the loop: no lookup, and no hand-over to a pool thread and back.
    private func resolve(on eventLoop: any EventLoop, deadline: ProbeInstant) async throws(ProbeFailure) -> [SocketAddress] {
        let (host, port) = proxy.map { ($0.host, $0.port) } ?? (self.host, self.port)
        if let address = try? SocketAddress(ipAddress: host, port: port) { return [address] }
        let resolved = eventLoop.makePromise(of: [SocketAddress].self)
        NIOThreadPool.singleton.runIfActive(eventLoop: eventLoop) {
            try HostResolver.resolve(host, port: port)
        }.cascade(to: resolved)
        let timer = eventLoop.scheduleTask(deadline: .deadline(for: deadline)) {
            resolved.fail(ProbeFailure(.dnsError, "DNS resolution of \(host) timed out"))
        }
        defer { timer.cancel() }
        do {
            return try await resolved.futureResult.get()
        } catch {
            throw ProbeFailure.classify(error)
        }
    }

    static func isIPAddress(_ host: String) -> Bool {
        (try? SocketAddress(ipAddress: host, port: 0)) != nil
    }
}

extension NIODeadline {
    /// The NIO deadline at the same moment as a `ContinuousClock` instant.
    static func deadline(for instant: ProbeInstant) -> NIODeadline {
        .now() + TimeAmount(max(ProbeInstant.now.duration(to: instant), .zero))
    }
}

extension Channel {
    /// When `deadline` passes, calls `fail` with `outcome` and closes the channel; cancel it when done.
    func armDeadline(
        _ deadline: ProbeInstant, outcome: ProbeOutcome = .timeout, what: String,
        fail: @escaping @Sendable (ProbeFailure) -> Void
    ) -> Scheduled<Void> {
        eventLoop.scheduleTask(deadline: .deadline(for: deadline)) {
            let limit = outcome == .connectTimeout ? "connect timeout" : "probe timeout"
            fail(ProbeFailure(outcome, "no complete \(what) before the \(limit)"))
            self.close(promise: nil)
        }
    }
}
