/// What a provider said about its rate limits on one answer: how long to wait, and what is left.
public struct RateLimitStatus: Sendable, Equatable {
    /// How long the provider asked us to wait (`Retry-After`, or the reset of an exhausted limit).
    public var retryAfter: Duration?
    /// Requests left in the current window (`x-ratelimit-remaining-requests` and the like).
    public var remainingRequests: Int?
    /// Tokens left in the current window.
    public var remainingTokens: Int?

    public init(retryAfter: Duration? = nil, remainingRequests: Int? = nil, remainingTokens: Int? = nil) {
        self.retryAfter = retryAfter
        self.remainingRequests = remainingRequests
        self.remainingTokens = remainingTokens
    }

    /// `true` when nothing was said.
    var isEmpty: Bool { retryAfter == nil && remainingRequests == nil && remainingTokens == nil }

    /// This status with `newer`'s values where it has them.
    func updated(with newer: RateLimitStatus?) -> RateLimitStatus {
        guard let newer else { return self }
        return RateLimitStatus(retryAfter: newer.retryAfter ?? retryAfter,
                               remainingRequests: newer.remainingRequests ?? remainingRequests,
                               remainingTokens: newer.remainingTokens ?? remainingTokens)
    }
}
