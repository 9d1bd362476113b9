import CoreMetrics
import Logging
import NIOConcurrencyHelpers
import OTel
import ServiceLifecycle

/// Where and how often to send OTLP metrics (`--otlp.endpoint`, `--otlp.interval`).
public struct OTLPExportSettings: Sendable {
    /// Base URL of an OTLP/HTTP receiver, e.g. `http://otel-collector:4318`; metrics go to `/v1/metrics`.
    public var endpoint: String
    public var interval: Duration = .seconds(60)

    public init(endpoint: String) {
        self.endpoint = endpoint
    }

    /// The full URL metrics are POSTed to.
    var metricsURL: String {
        if endpoint.hasSuffix("/v1/metrics") { return endpoint }
        return (endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint) + "/v1/metrics"
    }
}

/// The probes' measurements as OpenTelemetry metrics under the GenAI semantic-convention names, with the
/// conventions' recommended bucket boundaries, exported over OTLP/HTTP (protobuf) by swift-otel.
/// The `OTEL_*` environment variables swift-otel reads (headers, timeout, TLS) apply as well.
final class OTLPExport: Sendable {
    static let duration = "gen_ai.client.operation.duration"
    static let timeToFirstChunk = "gen_ai.client.operation.time_to_first_chunk"
    static let timePerOutputChunk = "gen_ai.client.operation.time_per_output_chunk"
    static let tokenUsage = "gen_ai.client.token.usage"

    /// Recommended boundaries of the GenAI client metrics.
    static let durationBuckets = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]
    static let chunkBuckets = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5]
    static let tokenBuckets: [Double] = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1_048_576, 4_194_304, 16_777_216, 67_108_864]

    let service: any Service
    private let factory: any MetricsFactory
    /// `server.address` of each target, by name (updated on reload).
    private let servers: NIOLockedValueBox<[String: String]>

    init(settings: OTLPExportSettings, targets: [TargetConfig], logger: Logger) throws {
        var configuration = OTel.Configuration.default
        configuration.serviceName = "inference-probe"
        configuration.resourceAttributes["service.version"] = BuildInfo.version
        configuration.traces.enabled = false
        configuration.logs.enabled = false
        configuration.diagnosticLogger = .custom(logger)
        configuration.metrics.exportInterval = settings.interval
        configuration.metrics.otlpExporter.protocol = .httpProtobuf
        configuration.metrics.otlpExporter.endpoint = settings.metricsURL
        configuration.metrics.valueHistogramBuckets = [
            Self.duration: Self.durationBuckets, Self.timeToFirstChunk: Self.durationBuckets,
            Self.timePerOutputChunk: Self.chunkBuckets, Self.tokenUsage: Self.tokenBuckets,
        ]
        let backend = try OTel.makeMetricsBackend(configuration: configuration)
        factory = backend.factory
        service = backend.service
        servers = NIOLockedValueBox([:])
        update(targets)
    }

    /// Takes the targets of a reloaded configuration.
    func update(_ targets: [TargetConfig]) {
        let servers = Dictionary(targets.map { ($0.name, $0.baseURL.host) }) { $1 }
        self.servers.withLockedValue { $0 = servers }
    }

    /// Records one probe: its duration (with `error.type` if it failed), and for successful probes the
    /// time to the first chunk, each later chunk's gap, and the input and output tokens.
    func record(_ result: ProbeResult, _ measurement: ProbeMeasurement) {
        let key = result.key
        var attributes = [
            ("gen_ai.operation.name", "chat"),
            ("gen_ai.provider.name", APICatalog.provider(of: key.api)),
            ("gen_ai.request.model", key.model),
            ("inference_probe.target", key.target),
            ("inference_probe.transport", key.transport),
        ]
        // server.port is left out: swift-otel's metric attributes are strings, and the conventions make it an int.
        if let address = servers.withLockedValue({ $0[key.target] }) {
            attributes.append(("server.address", address))
        }
        let t = result.timeline
        if let origin = t.requestStarted ?? Optional(t.started), let end = t.ended {
            var durationAttributes = attributes
            if result.outcome != .success { durationAttributes.append(("error.type", result.outcome.rawValue)) }
            histogram(Self.duration, unit: "s", durationAttributes).record(end.seconds(since: origin))
        }
        guard result.outcome == .success else { return }
        if let ttft = measurement.timeToFirstToken {
            histogram(Self.timeToFirstChunk, unit: "s", attributes).record(ttft)
        }
        if !measurement.interTokenLatencies.isEmpty {
            let perChunk = histogram(Self.timePerOutputChunk, unit: "s", attributes)
            for gap in measurement.interTokenLatencies { perChunk.record(gap) }
        }
        let input = result.reportedInputTokens ?? result.estimatedInputTokens
        histogram(Self.tokenUsage, unit: "{token}", attributes + [("gen_ai.token.type", "input")]).record(input)
        histogram(Self.tokenUsage, unit: "{token}", attributes + [("gen_ai.token.type", "output")]).record(measurement.outputTokens)
    }

    private func histogram(_ name: String, unit: String, _ attributes: [(String, String)]) -> Recorder {
        Recorder(label: name, dimensions: [("unit", unit)] + attributes, aggregate: true, factory: factory)
    }
}
