import CompressNIO
import Hummingbird
import CompressNIO
import HummingbirdCore
import Logging
import NIOCore

/// The sidecar's HTTP endpoint: `/metrics` (Prometheus text format, gzipped when the scraper accepts it),
/// `/-/healthy`, `/-/ready` and the
/// status page at `/` (HTML for browsers, plain text for `curl` and `Accept: text/plain`).
public enum MetricsEndpoint {
    /// Content type of the Prometheus text exposition format.
    static let metricsContentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Builds the endpoint's application; `onListening` receives the bound port (useful with port 0).
    public static func application(
        address: ListenAddress, metrics: ProbeMetrics, board: ProbeStatusBoard, statistics: WindowedStatistics,
        logger: Logger,
        limits: EndpointLimits = EndpointLimits(),
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = Router()
        router.get("metrics") { request, _ in
            let exposition = metrics.exposition()
            // Prometheus asks for gzip on every scrape; the text format compresses about tenfold.
            guard request.headers[.acceptEncoding]?.contains("gzip") == true else {
                return text(exposition, contentType: metricsContentType)
            }
            var plain = ByteBuffer(bytes: exposition)
            let compressed = try plain.compress(with: .gzip())
            return Response(status: .ok, headers: [.contentType: metricsContentType, .contentEncoding: "gzip",
                                                   .vary: "Accept-Encoding"],
                            body: ResponseBody(byteBuffer: compressed))
        }
        router.get("-/healthy") { _, _ in
            text(Array("Healthy.\n".utf8))
        }
        router.get("-/ready") { _, _ in
            board.isRunning
                ? text(Array("Ready.\n".utf8))
                : text(Array("Not ready: the scheduler is not running.\n".utf8), status: .serviceUnavailable)
        }
        let page = StatusPage(board: board, statistics: statistics)
        router.get("/") { request, _ in
            guard request.headers[.accept]?.contains("text/html") == true else {
                return text(Array(board.renderText().utf8))
            }
            return text(Array(page.render().utf8), contentType: "text/html; charset=utf-8")
        }
        return Application(
            router: router,
            server: .guardedHTTP1(limits),
            configuration: .init(
                address: .hostname(address.host, port: address.port), serverName: nil,
                availableConnectionsDelegate: MaximumAvailableConnections(limits.maxConnections, logger: logger)),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? address.port) },
            logger: logger
        )
    }

    private static func text(_ bytes: [UInt8], contentType: String = "text/plain; charset=utf-8",
                             status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: contentType],
                 body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
