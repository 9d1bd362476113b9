import Foundation
import Hummingbird

/// Asks for HTTP basic authentication on every path but `/-/healthy` when the web configuration lists
/// `basic_auth_users`; a missing or wrong password is answered 401. Nothing of the credentials is logged.
struct BasicAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let store: WebConfigStore

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.uri.path != "/-/healthy", !store.current().config.users.isEmpty else {
            return try await next(request, context)
        }
        if let (user, password) = Self.credentials(request.headers[.authorization]),
           await store.authenticate(user: user, password: password)
        {
            return try await next(request, context)
        }
        return Response(status: .unauthorized,
                        headers: [.wwwAuthenticate: "Basic realm=\"inference-probe\"", .contentType: "text/plain; charset=utf-8"],
                        body: ResponseBody(byteBuffer: ByteBuffer(string: "Unauthorized\n")))
    }

    /// User and password of an `Authorization: Basic` header.
    static func credentials(_ header: String?) -> (String, String)? {
        guard let header, header.count > 6, header.prefix(6).lowercased() == "basic " else { return nil }
        guard let data = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)) else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        guard let colon = text.firstIndex(of: ":") else { return nil }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }
}
