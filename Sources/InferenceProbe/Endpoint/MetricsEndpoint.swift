import CompressNIO
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore

/// The sidecar's HTTP endpoint: `/metrics` (Prometheus text format, or OpenMetrics when the scraper asks,
/// gzipped when it accepts it),
/// `/probe?target=NAME` (one probe now, blackbox_exporter style), `/-/healthy`, `/-/ready`, `/-/reload`
/// (with `--web.enable-lifecycle`) and the status page at `/` (HTML for browsers, plain text for `curl`).
/// With a web configuration it serves TLS and asks for basic authentication.
public enum MetricsEndpoint {
    /// Content type of the Prometheus text exposition format.
    static let metricsContentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Builds the endpoint's application; `onListening` receives the bound port (useful with port 0).
    static func application(
        options: SidecarOptions, metrics: ProbeMetrics, board: ProbeStatusBoard, statistics: WindowedStatistics,
        onDemand: OnDemandProber, reloads: ReloadRequests, logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let (address, limits) = (options.listen, options.limits)
        let router = Router()
        if let webConfig = options.webConfig {
            router.add(middleware: BasicAuthMiddleware(store: webConfig))
        }
        router.get("metrics") { request, _ in
            // Prometheus asks for OpenMetrics and gzip on every scrape.
            let stream = ExpositionStream(parts: metrics.expositionParts(),
                                          openMetrics: OpenMetricsText.isAccepted(request.headers[.accept]),
                                          gzip: request.headers[.acceptEncoding]?.contains("gzip") == true)
            var headers: HTTPFields = [.contentType: stream.openMetrics ? OpenMetricsText.contentType : metricsContentType,
                                       .vary: "Accept-Encoding, Accept"]
            if stream.gzip { headers[.contentEncoding] = "gzip" }
            return Response(status: .ok, headers: headers, body: ResponseBody { writer in try await stream.write(to: &writer) })
        }
        router.get("-/healthy") { _, _ in
            text(Array("Healthy.\n".utf8))
        }
        router.get("-/ready") { _, _ in
            board.isRunning
                ? text(Array("Ready.\n".utf8))
                : text(Array("Not ready: the scheduler is not running.\n".utf8), status: .serviceUnavailable)
        }
        router.get("probe") { request, _ in
            let query = request.uri.queryParameters
            let scrapeTimeout = request.headers[scrapeTimeoutHeader].flatMap { Double($0) }
            let reports: [OnDemandProber.Report]
            do throws(OnDemandProber.Refusal) {
                reports = try await onDemand.probe(
                    target: query["target"].map(String.init), transport: query["transport"].map(String.init),
                    api: query["api"].map(String.init), scrapeTimeout: scrapeTimeout)
            } catch let refusal {
                return text(Array((refusal.description + "\n").utf8), status: refusal.overloaded ? .serviceUnavailable : .badRequest)
            }
            if query["debug"] == "true" {
                return text(Array(OnDemandExposition.debug(reports, target: String(query["target"] ?? "")).utf8))
            }
            return text(OnDemandExposition.render(reports), contentType: OnDemandExposition.contentType)
        }
        let reload: @Sendable (Request, BasicRequestContext) async -> Response = { _, _ in
            guard options.lifecycle else {
                return text(Array("Lifecycle API is not enabled.\n".utf8), status: .forbidden)
            }
            switch await reloads.reload(origin: "POST /-/reload") {
            case .success: return text(Array("Reloaded.\n".utf8))
            case .failure(let failure):
                return text(Array("failed to reload config: \(failure)\n".utf8), status: .internalServerError)
            }
        }
        router.post("-/reload", use: reload)
        router.put("-/reload", use: reload)
        let page = StatusPage(board: board, statistics: statistics)
        router.get("/") { request, _ in
            guard request.headers[.accept]?.contains("text/html") == true else {
                return text(Array(board.renderText().utf8))
            }
            return text(Array(page.render().utf8), contentType: "text/html; charset=utf-8")
        }
        return Application(
            router: router,
            server: .guardedHTTP1(limits, webConfig: options.webConfig),
            configuration: .init(
                address: .hostname(address.host, port: address.port), serverName: nil,
                availableConnectionsDelegate: MaximumAvailableConnections(limits.maxConnections, logger: logger)),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? address.port) },
            logger: logger
        )
    }

    /// Prometheus's header telling how long it waits for the scrape.
    private static let scrapeTimeoutHeader = HTTPField.Name("X-Prometheus-Scrape-Timeout-Seconds")!

    private static func text(_ bytes: [UInt8], contentType: String = "text/plain; charset=utf-8",
                             status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: contentType],
                 body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
