/// Requests to re-read the configuration, from SIGHUP, `POST /-/reload` or a change of the file, served one
/// at a time by `ProbingService`. A request made over HTTP waits for the outcome to answer with it.
public final class ReloadRequests: Sendable {
    /// One request: where it came from, and who wants to hear how it went.
    struct Request: Sendable {
        var origin: String
        var reply: (@Sendable (Result<Void, ReloadFailure>) -> Void)?
    }

    let stream: AsyncStream<Request>
    private let continuation: AsyncStream<Request>.Continuation

    public init() {
        (stream, continuation) = AsyncStream.makeStream(of: Request.self)
    }

    /// Asks for a reload without waiting for it.
    public func submit(origin: String) {
        continuation.yield(Request(origin: origin, reply: nil))
    }

    /// Asks for a reload and waits until it is applied or refused.
    public func reload(origin: String) async -> Result<Void, ReloadFailure> {
        await withCheckedContinuation { waiting in
            let request = Request(origin: origin) { waiting.resume(returning: $0) }
            if case .terminated = continuation.yield(request) {
                waiting.resume(returning: .failure(ReloadFailure(description: "the sidecar is shutting down")))
            }
        }
    }

    /// No more requests will be served (shutdown); later requests fail at once.
    func finish() {
        continuation.finish()
    }
}

/// Why a reload was refused; the running configuration stays in force.
public struct ReloadFailure: Error, CustomStringConvertible {
    public var description: String
}
