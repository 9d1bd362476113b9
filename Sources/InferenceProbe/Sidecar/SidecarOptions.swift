/// How the sidecar serves and reloads: the flags of `inference-probe run`, gathered.
public struct SidecarOptions: Sendable {
    /// Where `/metrics` and the other endpoints are served.
    public var listen: ListenAddress
    public var limits = EndpointLimits()
    /// Re-reads the configuration for a reload (SIGHUP, `POST /-/reload`, a changed file); without it,
    /// reloads are refused.
    public var reload: (@Sendable () throws -> ProbeConfig)?
    /// The configuration file, polled for changes every `watchInterval` (nil or zero: not watched).
    public var watchedFile: String?
    public var watchInterval: Duration = .seconds(5)
    /// Serves `POST /-/reload` (Prometheus's `--web.enable-lifecycle`).
    public var lifecycle = false
    /// TLS and basic authentication of the endpoint (`--web.config.file`).
    public var webConfig: WebConfigStore?
    public var onDemand = OnDemandProber.Limits()
    /// OTLP export of the measurements, off when nil.
    public var otlp: OTLPExportSettings?

    public init(listen: ListenAddress) {
        self.listen = listen
    }
}
